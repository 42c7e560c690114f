import FormatSupport
import GraphIR

/// Reads trace JSON (docs/trace-format.md) into a verified graph. Every reference is resolved here, so a
/// dangling id is reported at its JSON path rather than discovered later as a crash.
public enum TraceReader {
    /// The keys each object of the format may have; docs/trace.schema.json lists the same (a test checks).
    public static let topLevelKeys: Set<String> = [
        "format", "version", "producer", "model", "mode", "storage_identity", "inputs", "outputs", "modules", "storages", "values", "nodes",
    ]
    public static let moduleKeys: Set<String> = ["path", "type", "instance"]
    public static let storageKeys: Set<String> = ["id", "kind", "names", "shape", "dtype"]
    public static let valueKeys: Set<String> = ["id", "shape", "dtype"]
    public static let nodeKeys: Set<String> = ["id", "op", "module", "module_type", "inputs", "outputs", "writes", "inplace", "attrs", "source"]

    /// Whether a parsed document claims to be a trace (used to tell traces from model specs).
    public static func isTrace(_ root: JSONNode) -> Bool {
        root.formatTag == TraceWriter.format
    }

    public static func read(_ root: JSONCursor) throws(InputError) -> Graph {
        try root.checkKeys(topLevelKeys)
        let format = try root.required("format")
        guard try format.string() == TraceWriter.format else {
            throw format.error("expected \"format\": \"\(TraceWriter.format)\"")
        }
        let version = try root.required("version")
        guard try version.int() == TraceWriter.version else {
            throw version.error("unsupported trace version \(try version.int()) (this graphcheck reads version \(TraceWriter.version))")
        }
        let name = try root.optional("model")?.string() ?? ""
        let mode = try root.optional("mode")?.string() ?? "train"
        guard mode == "train" || mode == "eval" else { throw try root.required("mode").error("mode must be \"train\" or \"eval\"") }

        var builder = GraphBuilder(name: name, mode: mode)
        if let identity = try root.optional("storage_identity") {
            guard let value = StorageIdentity(rawValue: try identity.string()) else {
                throw identity.error("storage_identity must be \"exact\" or \"name\"")
            }
            builder.setStorageIdentity(value)
        }
        var valueIDs: [String: ValueID] = [:]
        var storageIDs: [String: StorageID] = [:]

        if let modules = try root.optional("modules") {
            var infos: [ModuleInfo] = []
            for entry in try modules.elements() {
                try entry.checkKeys(moduleKeys)
                infos.append(ModuleInfo(
                    path: try entry.required("path").string(), type: try entry.required("type").string(),
                    instance: try entry.optional("instance")?.string()))
            }
            builder.setModules(infos)
        }

        for entry in try root.optional("storages")?.elements() ?? [] {
            try entry.checkKeys(storageKeys)
            let idCursor = try entry.required("id")
            let id = try idCursor.string()
            let kindCursor = try entry.required("kind")
            guard let kind = StorageKind(rawValue: try kindCursor.string()) else {
                throw kindCursor.error("storage kind must be \"parameter\" or \"buffer\"")
            }
            let namesCursor = try entry.required("names")
            let names = try namesCursor.strings()
            guard !names.isEmpty else { throw namesCursor.error("a storage needs at least one name") }
            guard storageIDs[id] == nil, valueIDs[id] == nil else { throw idCursor.error("duplicate id \"\(id)\"") }
            storageIDs[id] = builder.addStorage(Storage(
                id: id, kind: kind, names: names, shape: try shape(entry), dtype: try entry.optional("dtype")?.string()))
        }

        for entry in try root.optional("values")?.elements() ?? [] {
            try entry.checkKeys(valueKeys)
            let idCursor = try entry.required("id")
            let id = try idCursor.string()
            guard storageIDs[id] == nil, valueIDs[id] == nil else { throw idCursor.error("duplicate id \"\(id)\"") }
            valueIDs[id] = builder.addValue(id: id, shape: try shape(entry), dtype: try entry.optional("dtype")?.string())
        }

        func value(_ cursor: JSONCursor) throws(InputError) -> ValueID {
            let id = try cursor.string()
            guard let v = valueIDs[id] else {
                throw cursor.error(storageIDs[id] != nil ? "\"\(id)\" is a storage, expected a value" : "unknown value id \"\(id)\"")
            }
            return v
        }
        func storage(_ cursor: JSONCursor) throws(InputError) -> StorageID {
            let id = try cursor.string()
            guard let s = storageIDs[id] else { throw cursor.error("unknown storage id \"\(id)\"") }
            return s
        }

        for cursor in try root.required("inputs").elements() { builder.addInput(try value(cursor)) }

        var nodeIDs = Set<String>()
        for entry in try root.required("nodes").elements() {
            try entry.checkKeys(nodeKeys)
            let idCursor = try entry.required("id")
            let id = try idCursor.string()
            guard nodeIDs.insert(id).inserted, valueIDs[id] == nil, storageIDs[id] == nil else {
                throw idCursor.error("duplicate id \"\(id)\"")
            }
            var inputs: [Operand] = []
            for cursor in try entry.required("inputs").elements() {
                let ref = try cursor.string()
                if let v = valueIDs[ref] {
                    inputs.append(.value(v))
                } else if let s = storageIDs[ref] {
                    inputs.append(.storage(s))
                } else {
                    throw cursor.error("unknown value or storage id \"\(ref)\"")
                }
            }
            var outputs: [ValueID] = []
            for cursor in try entry.required("outputs").elements() { outputs.append(try value(cursor)) }
            var writes: [StorageID] = []
            for cursor in try entry.optional("writes")?.elements() ?? [] { writes.append(try storage(cursor)) }
            let op = try entry.required("op")
            guard !(try op.string()).isEmpty else { throw op.error("op must not be empty") }
            let node = Node(
                id: id, op: try op.string(), module: try entry.required("module").string(),
                moduleType: try entry.optional("module_type")?.string() ?? "",
                inputs: inputs, outputs: outputs, writes: writes,
                inplace: try entry.optional("inplace")?.bool() ?? false,
                attributes: try attributes(entry), source: try entry.optional("source")?.string())
            builder.addNode(node)
        }

        for cursor in try root.required("outputs").elements() { builder.addOutput(try value(cursor)) }

        let graph = builder.finish()
        if let problem = graph.verify().first {
            throw InputError(location: problem.element, message: problem.message)
        }
        return graph
    }

    private static func shape(_ entry: JSONCursor) throws(InputError) -> [Int]? {
        guard let cursor = try entry.optional("shape") else { return nil }
        var dims: [Int] = []
        for dim in try cursor.elements() {
            let d = try dim.int()
            guard d >= 0 else { throw dim.error("a dimension must not be negative (\(d))") }
            dims.append(d)
        }
        return dims
    }

    private static func attributes(_ entry: JSONCursor) throws(InputError) -> [(name: String, value: AttributeValue)] {
        guard let attrs = try entry.optional("attrs") else { return [] }
        var result: [(name: String, value: AttributeValue)] = []
        for (key, cursor) in try attrs.members() {
            switch cursor.node.value {
            case .int(let i): result.append((key, .int(i)))
            case .double(let d): result.append((key, .double(d)))
            case .string(let s): result.append((key, .string(s)))
            case .bool(let b): result.append((key, .bool(b)))
            case .array: result.append((key, .ints(try cursor.ints())))
            case .null, .object: throw cursor.error("an attribute must be a number, string, boolean or list of integers")
            }
        }
        return result
    }
}
