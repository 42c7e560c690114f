import FormatSupport
import GraphIR

/// A model spec traced into a graph, plus what the spec says about how to analyze it.
public struct TracedModel: Sendable {
    public var graph: Graph
    /// Branch prefixes the spec declares (`"branches"`), empty to let the analyzer find them.
    public var branches: [String]
    /// Sharing the spec declares intended (`"allow_shared"`).
    public var allowShared: [String] = []
}

/// Reads a model spec (docs/model-spec.md) and traces it: builds the module objects with PyTorch's
/// identity semantics, then runs the model's forward on the declared input shapes.
public enum ModelSpecReader {
    public static let format = "graphcheck.model"
    public static let version = 1

    public static func read(_ root: JSONCursor) throws(InputError) -> TracedModel {
        try root.checkKeys(["format", "version", "name", "mode", "let", "model", "inputs", "branches", "allow_shared", "description"])
        if let format = try root.optional("format"), try format.string() != Self.format {
            throw format.error("expected \"format\": \"\(Self.format)\"")
        }
        if let version = try root.optional("version"), try version.int() != Self.version {
            throw version.error("unsupported model spec version \(try version.int()) (this graphcheck reads version \(Self.version))")
        }
        let name = try root.optional("name")?.string() ?? "model"
        let modeCursor = try root.optional("mode")
        let mode = try modeCursor?.string() ?? "train"
        guard mode == "train" || mode == "eval" else { throw modeCursor!.error("mode must be \"train\" or \"eval\"") }

        var builder = ModuleBuilder(bindings: try root.optional("let")?.members() ?? [])
        let modelCursor = try root.required("model")
        let model = try builder.build(modelCursor)

        var inputs: [(shape: [Int], dtype: String)] = []
        let inputsCursor = try root.required("inputs")
        for input in try inputsCursor.elements() {
            try input.checkKeys(["name", "shape", "dtype"])
            let shapeCursor = try input.required("shape")
            var shape: [Int] = []
            for dim in try shapeCursor.elements() {
                let d = try dim.int()
                guard d > 0, d <= 1 << 31 else { throw dim.error("an input dimension must be a positive integer, found \(d)") }
                shape.append(d)
            }
            guard shape.count <= 8 else { throw shapeCursor.error("inputs of more than 8 dimensions are not supported") }
            guard elementCount(shape) <= 1 << 40 else {
                throw shapeCursor.error("an input of \(ShapeRules.describe(shape)) has more than 2^40 elements")
            }
            let dtype = try input.optional("dtype")?.string() ?? "float32"
            inputs.append((shape, dtype))
        }
        guard !inputs.isEmpty else { throw inputsCursor.error("the model needs at least one input") }

        let tracer = Tracer(name: name, training: mode == "train", rootLocation: modelCursor.location)
        let graph = try tracer.trace(model, inputs: inputs)
        return TracedModel(
            graph: graph, branches: try root.optional("branches")?.strings() ?? [],
            allowShared: try root.optional("allow_shared")?.strings() ?? [])
    }
}
