import FormatSupport
import GraphIR

/// What a picture's tooltips say about an element: the same facts the HTML view's details panel shows —
/// op kind, call-site module and type, the user's `file:line`, tensor shapes, and every parameter and
/// buffer with all its names and its storage. Plain text; the DOT encoder escapes it.
struct Details {
    let graph: Graph
    let types: [String: String]
    let sources: [String: String]

    init(_ graph: Graph, types: [String: String]) {
        self.graph = graph
        self.types = types
        self.sources = Self.sources(graph)
    }

    /// Where each module was assigned (`file:line`), by path: the first record of a path wins.
    static func sources(_ graph: Graph) -> [String: String] {
        var sources: [String: String] = [:]
        for module in graph.modules where sources[module.path] == nil { sources[module.path] = module.source }
        return sources
    }

    /// A long list in a tooltip helps nobody: the first `limit` lines and a count of the rest.
    static let limit = 24

    func op(_ index: Int) -> [String] {
        let node = graph.nodes[index]
        var lines = ["op: \(node.op)\(node.inplace ? "_ (in place)" : "") · node \(node.id)"]
        lines.append("module: " + (node.module.isEmpty ? "(the model's forward)" : "\(node.module) (\(node.moduleType))"))
        if let source = node.source { lines.append("called at: \(source)") }
        for v in node.valueInputs { lines.append("input: \(tensor(v))") }
        for v in node.outputs { lines.append("output: \(tensor(v))") }
        for s in node.storageInputs { lines.append("reads " + storage(s)) }
        for s in node.writes { lines.append("writes " + storage(s)) }
        return capped(lines)
    }

    func module(_ path: String, contents: String) -> [String] {
        var lines = ["module: \(path) (\(types[path] ?? "Module"))", contents]
        if let source = sources[path] { lines.append("assigned at: \(source)") }
        return lines
    }

    func storage(_ s: StorageID) -> String {
        let storage = graph[s]
        var text = "\(storage.kind.rawValue) \(storage.names.joined(separator: " = ")) \(shapeText(storage.shape) ?? "")"
        if graph.storageIdentity.recordsStorage {
            text += " · storage \(storage.id)" + (storage.memory.map { " bytes \($0.bytes.lowerBound)–\($0.bytes.upperBound)" } ?? "")
        }
        return text
    }

    func tensors(_ values: [ValueID]) -> [String] { capped(values.map(tensor)) }

    func tensor(_ v: ValueID) -> String { "\(graph[v].id) \(shapeText(graph[v].shape) ?? "?")" }

    private func capped(_ lines: [String]) -> [String] {
        lines.count <= Self.limit ? lines : Array(lines.prefix(Self.limit - 1)) + ["… and \(lines.count - Self.limit + 1) more"]
    }
}
