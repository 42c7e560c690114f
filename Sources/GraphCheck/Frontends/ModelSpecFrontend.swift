import FormatSupport
import GraphIR
import ModelSpec
import TraceFormat

/// The declarative model spec (`model.json`), traced by graphcheck's own tracer. It also answers any JSON
/// that is neither a spec nor a trace, so that the error says what a graphcheck file must look like.
struct ModelSpecFrontend: Frontend {
    let id = "model-spec"
    let name = "model spec"
    let shows = "module objects with identity (`ref` aliases one object, `copy` deep-copies it), so sharing is exact; the tracer runs the forward program op by op"
    let cannotShow = "models outside the layers and architectures the spec language has (docs/model-spec.md); export those with graphcheck_torch"

    func recognizes(_ bytes: [UInt8]) -> Bool {
        guard let header = try? JSONHeader.read(bytes) else { return false }
        return Self.isSpec(format: header.format, hasModel: header.hasModel)
    }

    func read(_ bytes: [UInt8]) throws(InputError) -> LoadedInput {
        let cursor = JSONCursor(root: try JSONParser.parse(bytes), source: JSONSource(bytes: bytes))
        let format = try? cursor.optional("format")?.string()
        if Self.isSpec(format: format, hasModel: (try? cursor.optional("model")) != nil) {
            let traced = try ModelSpecReader.read(cursor)
            return LoadedInput(graph: traced.graph, declaredBranches: traced.branches, kind: name, declaredAllowShared: traced.allowShared)
        }
        if let format {
            throw try cursor.required("format").error("unknown format \"\(format)\" (expected \"\(ModelSpecReader.format)\" or \"\(TraceWriter.format)\")")
        }
        throw cursor.error("not a graphcheck model spec or trace: expected a \"format\" key")
    }

    /// A spec says so, or (written before the format key existed) has a model.
    private static func isSpec(format: String?, hasModel: Bool) -> Bool {
        format == ModelSpecReader.format || (format == nil && hasModel)
    }
}
