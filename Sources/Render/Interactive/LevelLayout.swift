/// Where Graphviz put one level's items and edges, in points, y downward, origin at the top left.
struct LevelLayout {
    struct Box {
        var x: Double
        var y: Double
        var width: Double
        var height: Double
    }

    var width: Double
    var height: Double
    /// By item index.
    var boxes: [Box]
    /// By edge index: the B-spline's control points, flattened x, y, x, y, … (empty for an edge Graphviz
    /// did not route: the view draws it as an arc, see `LongEdges`).
    var splines: [[Double]]

    /// DOT for one level: items get synthetic ids (`i3`), labels are escaped, ports are small points
    /// held in the first and last ranks. Bottom to top, as TensorBoard draws.
    static func dot(items labels: [[String]?], edges: [(Int, Int)], entering: [Int], leaving: [Int]) -> String {
        var out = "digraph level {\n"
        out += "  graph [rankdir=BT, newrank=true, nslimit=0.3, nslimit1=0.3, mclimit=0.5, searchsize=30, ranksep=0.3, nodesep=0.2];\n"
        out += "  node [shape=box, fontname=\"Helvetica\", fontsize=10, height=0.3, margin=\"0.1,0.04\"];\n"
        out += "  edge [arrowhead=none];\n"
        for (index, lines) in labels.enumerated() {
            if let lines {
                out += "  i\(index) [label=\(DOTEncoder.quoted(lines))];\n"
            } else {
                out += "  i\(index) [shape=circle, label=\"\", width=0.12, height=0.12, fixedsize=true];\n"
            }
        }
        if !entering.isEmpty { out += "  { rank=min; " + entering.map { "i\($0);" }.joined(separator: " ") + " }\n" }
        if !leaving.isEmpty { out += "  { rank=max; " + leaving.map { "i\($0);" }.joined(separator: " ") + " }\n" }
        for (from, to) in edges { out += "  i\(from) -> i\(to);\n" }
        out += "}\n"
        return out
    }

    /// Reads Graphviz's `plain` output for a graph written by `dot(…)` with `count` items.
    init(plain bytes: [UInt8], items count: Int, edges: [(Int, Int)], routed: [Bool]) throws(RenderError) {
        let text = String(decoding: bytes, as: UTF8.self)
        var scale = 1.0, graphHeight = 0.0
        width = 0
        height = 0
        boxes = Array(repeating: Box(x: 0, y: 0, width: 0, height: 0), count: count)
        var byEnds: [[Int]: [Double]] = [:]
        for line in text.split(separator: "\n") {
            // Every field graphcheck reads comes before the first label, and ids are synthetic: no quoting.
            let fields = line.split(separator: " ", maxSplits: 64, omittingEmptySubsequences: true)
            guard let kind = fields.first else { continue }
            switch kind {
            case "graph":
                guard fields.count >= 4, let s = Double(fields[1]), let w = Double(fields[2]), let h = Double(fields[3]) else {
                    throw RenderError("Graphviz's plain output has a malformed graph line")
                }
                scale = s
                graphHeight = h
                width = w * s * 72
                height = h * s * 72
            case "node":
                guard fields.count >= 6, let index = Self.index(fields[1]), index < count,
                    let x = Double(fields[2]), let y = Double(fields[3]), let w = Double(fields[4]), let h = Double(fields[5])
                else { throw RenderError("Graphviz's plain output has a malformed node line: \(line.prefix(120))") }
                boxes[index] = Box(x: x * scale * 72, y: (graphHeight - y) * scale * 72, width: w * 72, height: h * 72)
            case "edge":
                guard fields.count >= 4, let tail = Self.index(fields[1]), let head = Self.index(fields[2]),
                    let n = Int(fields[3]), n >= 0, n <= 10_000
                else {
                    throw RenderError("Graphviz's plain output has a malformed edge line")
                }
                let all = line.split(separator: " ", omittingEmptySubsequences: true)
                guard all.count >= 4 + 2 * n else { throw RenderError("Graphviz's plain output has a short edge line") }
                var points: [Double] = []
                points.reserveCapacity(2 * n)
                for i in 0..<n {
                    guard let x = Double(all[4 + 2 * i]), let y = Double(all[5 + 2 * i]) else {
                        throw RenderError("Graphviz's plain output has a malformed edge point")
                    }
                    points += [x * scale * 72, (graphHeight - y) * scale * 72]
                }
                byEnds[[tail, head]] = points
            default:
                continue
            }
        }
        // Graphviz lists edges node by node; a level has at most one edge per pair of items.
        var splines: [[Double]] = []
        splines.reserveCapacity(edges.count)
        for ((from, to), laidOut) in zip(edges, routed) {
            guard laidOut else { splines.append([]); continue }
            guard let points = byEnds[[from, to]] else { throw RenderError("Graphviz did not lay out edge i\(from) -> i\(to)") }
            splines.append(points)
        }
        self.splines = splines
    }

    /// `i12` → 12. Names read through graphcheck's deterministic id discipline come back as `<i12>`
    /// (cgraph takes strings it did not intern for HTML-like ones), so brackets and quotes are dropped.
    private static func index(_ id: Substring) -> Int? {
        let bare = id.drop { $0 == "<" || $0 == "\"" }.prefix { $0 != ">" && $0 != "\"" }
        guard bare.first == "i" else { return nil }
        return Int(bare.dropFirst())
    }
}
