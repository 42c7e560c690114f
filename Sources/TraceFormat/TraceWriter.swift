import FormatSupport
import GraphIR

/// Writes a graph as trace JSON (docs/trace-format.md). One element per line, keys in a fixed order, so
/// traces diff well and the same graph always gives the same bytes.
public enum TraceWriter {
    public static let format = "graphcheck.trace"
    public static let version = 1

    public static func write(_ graph: Graph, producer: String) -> String {
        var out = "{\n"
        out += "  \"format\": \"\(format)\",\n"
        out += "  \"version\": \(version),\n"
        out += "  \"producer\": \(JSONWriter.quoted(producer)),\n"
        out += "  \"model\": \(JSONWriter.quoted(graph.name)),\n"
        out += "  \"mode\": \(JSONWriter.quoted(graph.mode.rawValue)),\n"
        if graph.storageIdentity != .exact { out += "  \"storage_identity\": \"\(graph.storageIdentity.rawValue)\",\n" }
        if graph.recordsSavedTensors { out += "  \"saved_tensors\": true,\n" }
        out += "  \"inputs\": \(JSONWriter.stringArray(graph.inputs.map { graph[$0].id })),\n"
        out += "  \"outputs\": \(JSONWriter.stringArray(graph.outputs.map { graph[$0].id })),\n"
        out += list("modules", graph.modules.map(module))
        out += ",\n"
        out += list("storages", graph.storages.map(storage))
        out += ",\n"
        out += list("values", graph.values.map(value))
        out += ",\n"
        out += list("nodes", graph.nodes.map { node($0, in: graph) })
        out += "\n}\n"
        return out
    }

    private static func list(_ key: String, _ items: [String]) -> String {
        if items.isEmpty { return "  \"\(key)\": []" }
        return "  \"\(key)\": [\n    " + items.joined(separator: ",\n    ") + "\n  ]"
    }

    private static func module(_ m: ModuleInfo) -> String {
        var s = "{\"path\": \(JSONWriter.quoted(m.path)), \"type\": \(JSONWriter.quoted(m.type))"
        if let instance = m.instance { s += ", \"instance\": \(JSONWriter.quoted(instance))" }
        if let source = m.source { s += ", \"source\": \(JSONWriter.quoted(source))" }
        if !m.registered { s += ", \"registered\": false" }
        if m.madeInForward { s += ", \"made_in_forward\": true" }
        return s + "}"
    }

    private static func shapeAndType(_ shape: [Int]?, _ dtype: DType?) -> String {
        let shapeText = shape.map(JSONWriter.intArray) ?? "null"
        let dtypeText = dtype.map { JSONWriter.quoted($0.name) } ?? "null"
        return "\"shape\": \(shapeText), \"dtype\": \(dtypeText)"
    }

    private static func storage(_ s: Storage) -> String {
        "{\"id\": \(JSONWriter.quoted(s.id)), \"kind\": \"\(s.kind.rawValue)\", \"names\": \(JSONWriter.stringArray(s.names)), "
            + shapeAndType(s.shape, s.dtype)
            + (s.memory.map { ", \"memory\": {\"block\": \(JSONWriter.quoted($0.block)), \"bytes\": [\($0.bytes.lowerBound), \($0.bytes.upperBound)]}" } ?? "")
            + (s.digest.map { ", \"digest\": \(JSONWriter.quoted($0))" } ?? "")
            + (s.kind == .parameter && !s.trainable ? ", \"requires_grad\": false" : "")
            + (s.registered ? "" : ", \"registered\": false")
            + (s.declared ? ", \"declared\": true" : "")
            + "}"
    }

    private static func value(_ v: Value) -> String {
        "{\"id\": \(JSONWriter.quoted(v.id)), " + shapeAndType(v.shape, v.dtype) + "}"
    }

    private static func node(_ n: Node, in graph: Graph) -> String {
        let inputs = n.inputs.map { operand -> String in
            switch operand {
            case .value(let v): return graph[v].id
            case .storage(let s): return graph[s].id
            }
        }
        var s = "{\"id\": \(JSONWriter.quoted(n.id)), \"op\": \(JSONWriter.quoted(n.op)), "
        s += "\"module\": \(JSONWriter.quoted(n.module)), \"module_type\": \(JSONWriter.quoted(n.moduleType)), "
        s += "\"inputs\": \(JSONWriter.stringArray(inputs)), "
        s += "\"outputs\": \(JSONWriter.stringArray(n.outputs.map { graph[$0].id }))"
        if !n.writes.isEmpty { s += ", \"writes\": \(JSONWriter.stringArray(n.writes.map { graph[$0].id }))" }
        if n.inplace { s += ", \"inplace\": true" }
        if !n.saves.isEmpty || !n.savedStorages.isEmpty {
            s += ", \"saves\": \(JSONWriter.stringArray(n.saves.map { graph[$0].id } + n.savedStorages.map { graph[$0].id }))"
        }
        if !n.overwritesSaved.isEmpty { s += ", \"overwrites_saved\": \(JSONWriter.stringArray(n.overwritesSaved.map { graph[$0].id }))" }
        if !n.attributes.isEmpty {
            s += ", \"attrs\": {" + n.attributes.map { "\(JSONWriter.quoted($0.name)): \(attribute($0.value))" }.joined(separator: ", ") + "}"
        }
        if let source = n.source { s += ", \"source\": \(JSONWriter.quoted(source))" }
        return s + "}"
    }

    private static func attribute(_ value: AttributeValue) -> String {
        switch value {
        case .int(let i): return String(i)
        case .ints(let list): return JSONWriter.intArray(list)
        case .double(let d): return JSONWriter.number(d)
        case .string(let s): return JSONWriter.quoted(s)
        case .bool(let b): return b ? "true" : "false"
        }
    }
}
