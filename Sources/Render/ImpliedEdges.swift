/// The static picture's long edges. On a DenseNet every layer reads every earlier layer's output, and dot
/// spends its time on the ranks those edges span (DenseNet-201 at full depth: minutes). Edges that another
/// path of the picture already implies are left out of the layout (`LongEdges`); once Graphviz has placed
/// everything else they are added back as arcs on the right of the nodes they join, with their own
/// positions, and the whole is rendered as laid out. Nothing is hidden: each arc keeps its colour and its
/// tooltip lists every tensor it carries.
enum ImpliedEdges {
    /// Beyond this many spanned ranks (beyond each edge's first) dot gets slow: the seed at full depth
    /// with all its edges took dot 10 s here, DenseNet-201 three minutes.
    static let spanBudget = 1500

    /// The view's edges to leave out of the layout; empty when dot can route them all.
    static func choose(_ view: ViewGraph) -> Set<Int> {
        let candidates = view.edges.indices.filter { [.data, .state, .crossBranch, .crossBranchState].contains(view.edges[$0].kind) }
        let ends = candidates.map { (view.edges[$0].from, view.edges[$0].to) }
        let routed = LongEdges.routed(items: view.nodes.count, edges: ends, budget: spanBudget)
        return Set(zip(candidates, routed).filter { !$0.1 }.map(\.0))
    }

    /// DOT statements for the left-out edges, each with the `pos` of an arc on the right of its two nodes,
    /// placed from the layout Graphviz made without them.
    static func statements(_ view: ViewGraph, _ implied: Set<Int>, plain bytes: [UInt8]) throws(RenderError) -> String {
        let plain = try PlainOutput(bytes, prefix: "n")
        var out = ""
        for index in implied.sorted() {
            let edge = view.edges[index]
            guard let a = plain.nodes[edge.from], let b = plain.nodes[edge.to] else {
                throw RenderError("Graphviz did not place n\(edge.from) or n\(edge.to)")
            }
            let start = (a.x + a.width / 2, a.y), end = (b.x + b.width / 2, b.y)
            let bulge = min(160, 12 + 0.15 * abs(a.y - b.y))
            // The spline stops short of the node; the arrowhead fills the gap (`e,` is where it points).
            let tip = (end.0 + 4, end.1)
            let points = [start, (start.0 + bulge, start.1), (tip.0 + bulge, tip.1), tip]
            let pos = "e,\(positionNumber(end.0)),\(positionNumber(end.1)) " + points.map { "\(positionNumber($0.0)),\(positionNumber($0.1))" }.joined(separator: " ")
            var attributes = DOTEncoder.edgeAttributes(edge, labels: .none)
            attributes.append("pos=\"\(pos)\"")
            out += "  n\(edge.from) -> n\(edge.to) [\(attributes.joined(separator: ", "))];\n"
        }
        return out
    }
}
