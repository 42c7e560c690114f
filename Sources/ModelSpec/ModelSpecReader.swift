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

    /// Decodes the spec into its syntax tree, builds the module objects, then traces the model's forward.
    public static func read(_ root: JSONCursor) throws(InputError) -> TracedModel {
        let document = try SpecDecoder.document(root, format: format, version: version)
        var builder = ModuleBuilder(bindings: document.bindings)
        let model = try builder.build(document.model)
        let tracer = Tracer(name: document.name, training: document.mode == .train, rootLocation: document.modelLocation.text)
        let graph = try tracer.trace(model, inputs: document.inputs)
        return TracedModel(graph: graph, branches: document.branches, allowShared: document.allowShared)
    }
}
