import Analysis
import FormatSupport
import GraphIR

/// Everything the HTML view shows, as one JSON document: each level's precomputed Graphviz layout, the
/// ops, values and storages its details panel lists, the findings and which ops each involves, and the
/// levels open at first (the static picture's automatic depth). Keys and arrays are written in a fixed
/// order, so the same input always gives the same bytes.
enum ViewData {
    static func json(_ graph: Graph, report: Report?, options: RenderOptions, openDepth: Int?) throws(RenderError) -> (json: String, levels: Int, items: Int) {
        let levels = ModuleLevels(graph)
        let types = graph.moduleTypes()
        let sources = Details.sources(graph)

        for level in levels.levels where level.items.count > options.nodeLimit {
            throw RenderError(
                "too large to lay out: module '\(level.path.isEmpty ? "(model)" : level.path)' holds \(level.items.count) ops and modules "
                    + "directly (the limit is \(options.nodeLimit); raise it with --max-nodes)")
        }
        let parameters = parameterCounts(graph, levels)
        func label(_ item: ModuleLevels.Item, in level: ModuleLevels.Level) -> [String]? {
            switch item {
            case .op(let o):
                let node = graph.nodes[o]
                let name = node.drawnName
                return node.module == level.path || node.module.isEmpty ? [name] : [name, displayName(node.module, types)]
            case .level(let l):
                return [displayName(levels.levels[l].path, types), "\(levels.levels[l].ops) ops · \(parameters[l])"]
            case .enters(let v):
                return level.parent == nil ? ["input", shapeText(graph.values[v].shape) ?? "?"] : nil
            case .leaves(let v):
                return level.parent == nil ? ["output", shapeText(graph.values[v].shape) ?? "?"] : nil
            }
        }
        var dots: [String] = []
        dots.reserveCapacity(levels.levels.count)
        var routed: [[Bool]] = []
        for level in levels.levels {
            let ends = level.edges.map { ($0.from, $0.to) }
            routed.append(LongEdges.routed(items: level.items.count, edges: ends))
            var entering: [Int] = [], leaving: [Int] = []
            for (i, item) in level.items.enumerated() {
                if case .enters = item { entering.append(i) }
                if case .leaves = item { leaving.append(i) }
            }
            dots.append(LevelLayout.dot(
                items: level.items.map { label($0, in: level) }, edges: zip(ends, routed.last!).filter(\.1).map(\.0),
                entering: entering, leaving: leaving))
        }
        let plains = try GraphvizRenderer.render(dots: dots, format: .plain)
        var layouts: [LevelLayout] = []
        layouts.reserveCapacity(levels.levels.count)
        for (index, (level, plain)) in zip(levels.levels, plains).enumerated() {
            let ends = level.edges.map { ($0.from, $0.to) }
            layouts.append(try LevelLayout(plain: plain, items: level.items.count, edges: ends, routed: routed[index]))
        }

        var out = "{"
        out += "\"title\":" + JSONWriter.quoted(report.map { TextReporter.verdict($0, standingAlone: true) } ?? graph.name)
        out += ",\"model\":" + JSONWriter.quoted(graph.name)
        out += ",\"verdict\":" + (report.map { $0.independent.map { $0 ? "\"independent\"" : "\"not independent\"" } ?? "\"undecided\"" } ?? "null")
        out += ",\"branches\":" + JSONWriter.stringArray(report?.branches ?? [])
        out += ",\"openDepth\":" + (openDepth.map(String.init) ?? "null")
        out += ",\"levels\":["
        for (index, level) in levels.levels.enumerated() {
            if index > 0 { out += "," }
            out += levelJSON(level, layouts[index], label: label(.level(index), in: level) ?? [], type: types[level.path], source: sources[level.path])
        }
        out += "],\"ops\":["
        for (index, node) in graph.nodes.enumerated() {
            if index > 0 { out += "," }
            out += opJSON(node, chain: levels.chains[index])
        }
        out += "],\"values\":["
        for (index, value) in graph.values.enumerated() {
            if index > 0 { out += "," }
            out += "[" + JSONWriter.quoted(value.id) + "," + JSONWriter.quoted(shapeText(value.shape) ?? "?") + "]"
        }
        out += "],\"storages\":["
        for (index, storage) in graph.storages.enumerated() {
            if index > 0 { out += "," }
            out += storageJSON(storage)
        }
        out += "],\"findings\":["
        for (index, finding) in (report?.findings ?? []).enumerated() {
            if index > 0 { out += "," }
            out += findingJSON(finding, graph)
        }
        out += "]}"
        return (out, levels.levels.count, levels.levels.reduce(0) { $0 + $1.items.count })
    }

    /// "1.2M params" per level.
    private static func parameterCounts(_ graph: Graph, _ levels: ModuleLevels) -> [String] {
        var seen = [Set<Int>](repeating: [], count: levels.levels.count)
        for (index, node) in graph.nodes.enumerated() {
            let parameters = node.storageInputs.filter { graph[$0].kind == .parameter }.map(\.index)
            guard !parameters.isEmpty else { continue }
            for level in levels.chains[index] { seen[level].formUnion(parameters) }
        }
        return seen.map { set in parameterSummary(set.sorted().map { graph.storages[$0].shape }) }
    }

    private static func levelJSON(_ level: ModuleLevels.Level, _ layout: LevelLayout, label: [String], type: String?, source: String?) -> String {
        var out = "{\"path\":" + JSONWriter.quoted(level.path)
        out += ",\"label\":" + JSONWriter.stringArray(label)
        out += ",\"type\":" + (type.map(JSONWriter.quoted) ?? "null")
        out += ",\"source\":" + (source.map(JSONWriter.quoted) ?? "null")
        out += ",\"parent\":" + (level.parent.map(String.init) ?? "null")
        out += ",\"depth\":\(level.depth),\"ops\":\(level.ops)"
        out += ",\"w\":" + coordinate(layout.width) + ",\"h\":" + coordinate(layout.height)
        out += ",\"items\":["
        for (i, item) in level.items.enumerated() {
            if i > 0 { out += "," }
            let (kind, ref): (Int, Int)
            switch item {
            case .op(let o): (kind, ref) = (0, o)
            case .level(let l): (kind, ref) = (1, l)
            case .enters(let v): (kind, ref) = (2, v)
            case .leaves(let v): (kind, ref) = (3, v)
            }
            let box = layout.boxes[i]
            out += "[\(kind),\(ref)," + [box.x, box.y, box.width, box.height].map(coordinate).joined(separator: ",") + "]"
        }
        out += "],\"edges\":["
        for (i, edge) in level.edges.enumerated() {
            if i > 0 { out += "," }
            out += "[\(edge.from),\(edge.to)," + JSONWriter.intArray(edge.values) + ",[" + layout.splines[i].map(coordinate).joined(separator: ",") + "]]"
        }
        return out + "]}"
    }

    private static func opJSON(_ node: Node, chain: [Int]) -> String {
        var out = "{\"op\":" + JSONWriter.quoted(node.drawnName)
        out += ",\"id\":" + JSONWriter.quoted(node.id)
        out += ",\"module\":" + JSONWriter.quoted(node.module)
        out += ",\"type\":" + JSONWriter.quoted(node.moduleType)
        out += ",\"chain\":" + JSONWriter.intArray(chain)
        out += ",\"in\":" + JSONWriter.intArray(node.valueInputs.map(\.index))
        out += ",\"out\":" + JSONWriter.intArray(node.outputs.map(\.index))
        out += ",\"reads\":" + JSONWriter.intArray(node.storageInputs.map(\.index))
        out += ",\"writes\":" + JSONWriter.intArray(node.writes.map(\.index))
        out += ",\"source\":" + (node.source.map(JSONWriter.quoted) ?? "null")
        return out + "}"
    }

    private static func storageJSON(_ storage: Storage) -> String {
        var out = "{\"id\":" + JSONWriter.quoted(storage.id)
        out += ",\"kind\":" + JSONWriter.quoted(storage.kind.rawValue)
        out += ",\"names\":" + JSONWriter.stringArray(storage.names)
        out += ",\"shape\":" + JSONWriter.quoted(shapeText(storage.shape) ?? "?")
        let memory = storage.memory.map { "\($0.block) bytes \($0.bytes.lowerBound)–\($0.bytes.upperBound)" }
        out += ",\"memory\":" + (memory.map(JSONWriter.quoted) ?? "null")
        return out + "}"
    }

    /// A finding's wording and the ops, values and storages it involves (what the view highlights and opens).
    private static func findingJSON(_ finding: Finding, _ graph: Graph) -> String {
        var ops: [Int] = finding.places.map(\.id.index)
        var values: [Int] = []
        for storage in finding.storages {
            ops += graph.storages[storage.id.index].readers.map(\.index) + graph.storages[storage.id.index].writers.map(\.index)
        }
        for edge in finding.crossBranchDependency?.edges ?? [] {
            ops.append(edge.consumer.index)
            if let p = edge.producer {
                ops.append(p.index)
                let read = Set(graph.nodes[edge.consumer.index].valueInputs.map(\.index))
                values += graph.nodes[p.index].outputs.map(\.index).filter(read.contains)
            }
        }
        var out = "{\"severity\":" + JSONWriter.quoted(finding.severity.rawValue)
        out += ",\"rule\":" + JSONWriter.quoted(finding.rule)
        out += ",\"message\":" + JSONWriter.quoted(finding.message)
        out += ",\"details\":" + JSONWriter.stringArray(finding.details)
        out += ",\"notes\":" + JSONWriter.stringArray(finding.notes)
        out += ",\"help\":" + (finding.help.map(JSONWriter.quoted) ?? "null")
        out += ",\"branches\":" + JSONWriter.stringArray(finding.branches)
        out += ",\"ops\":" + JSONWriter.intArray(Array(Set(ops)).sorted())
        out += ",\"values\":" + JSONWriter.intArray(Array(Set(values)).sorted())
        out += ",\"storages\":" + JSONWriter.intArray(finding.storages.map(\.id.index))
        return out + "}"
    }

    /// Points with one decimal: enough for a screen, and the same text on every machine.
    private static func coordinate(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : (tenths < 0 && tenths > -10 ? "-0." : "\(tenths / 10).") + String(abs(tenths % 10))
    }
}
