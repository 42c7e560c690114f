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

    /// Reads Graphviz's `plain` output for a graph written by `dot(…)` with `count` items, turned to
    /// y downward from the top left, as the page draws.
    init(plain bytes: [UInt8], items count: Int, edges: [(Int, Int)], routed: [Bool]) throws(RenderError) {
        let plain = try PlainOutput(bytes, prefix: "i")
        width = plain.width
        height = plain.height
        boxes = (0..<count).map { i in
            let n = plain.nodes[i] ?? PlainOutput.Node(x: 0, y: 0, width: 0, height: 0)
            return Box(x: n.x, y: plain.height - n.y, width: n.width, height: n.height)
        }
        // A level has at most one edge per pair of items.
        var splines: [[Double]] = []
        splines.reserveCapacity(edges.count)
        for ((from, to), laidOut) in zip(edges, routed) {
            guard laidOut else { splines.append([]); continue }
            guard let points = plain.edges[[from, to]] else { throw RenderError("Graphviz did not lay out edge i\(from) -> i\(to)") }
            splines.append(points.enumerated().map { $0.offset % 2 == 0 ? $0.element : plain.height - $0.element })
        }
        self.splines = splines
    }
}
