/// Puts the branches left to right in branch order. dot orders clusters to cross fewer edges, and does not
/// take an order as a rule (neither flat edges between clusters nor `ordering` hold it): on the corpus about a
/// quarter of the pictures with branches came out of order (the seed as branch4, branch5, branch1, …). So
/// after dot's layout the branches' blocks (clusters, or single nodes), when side by side, are laid out again
/// in a row in branch order from where the row started, each as far left as it goes without covering anything
/// else drawn (the drawing widens when a block has to go past something); edges inside a moved block move
/// with it, edges that enter or leave one are drawn anew as curves between their ends. Blocks that are not
/// side by side (an auxiliary head early in the trunk, the main head at its end) are left where they are.
enum BranchOrder {
    struct Rect: Equatable {
        var x0, y0, x1, y1: Double

        func shifted(_ dx: Double) -> Rect { Rect(x0: x0 + dx, y0: y0, x1: x1 + dx, y1: y1) }

        func overlaps(_ other: Rect) -> Bool { x0 < other.x1 && other.x0 < x1 && y0 < other.y1 && other.y0 < y1 }

        func inset(_ d: Double) -> Rect { Rect(x0: x0 + d, y0: y0 + d, x1: x1 - d, y1: y1 - d) }
    }

    /// dot's layout as Graphviz's attributes say it (points, y upward).
    struct Layout {
        struct Edge {
            var tail: String
            var head: String
            /// `pos`, `lp`, `xlp`, `head_lp`, `tail_lp` and `label`, where set.
            var attributes: [String: String]
        }

        /// Node name → its box.
        var nodes: [String: Rect] = [:]
        /// Cluster name → `bb`, and its `lp` when it has a label.
        var clusters: [String: (bb: Rect, lp: String?)] = [:]
        /// Cluster name → every node inside it, and every cluster nested in it, however deep.
        var members: [String: [String]] = [:]
        var nested: [String: [String]] = [:]
        var edges: [Edge] = []
        /// The whole drawing's `bb`.
        var bounds: Rect?
    }

    enum Target: Hashable {
        case graph, node(String), cluster(String), edge(Int)
    }

    struct Edit: Equatable {
        var target: Target
        var attribute: String
        var value: String
    }

    static let positionAttributes = ["pos", "lp", "xlp", "head_lp", "tail_lp"]

    /// The attribute changes that put `blocks` (DOT names: `cluster_3` or `n12`) in their order, or none.
    static func edits(_ layout: Layout, blocks: [String]) -> [Edit] {
        guard blocks.count >= 2 else { return [] }
        var rects: [Rect] = []
        for name in blocks {
            guard let rect = layout.clusters[name]?.bb ?? layout.nodes[name] else { return [] }
            rects.append(rect)
        }
        let slots = rects.indices.sorted { rects[$0].x0 < rects[$1].x0 }
        guard slots != Array(rects.indices) else { return [] }
        for (a, b) in zip(slots, slots.dropFirst()) where rects[a].x1 > rects[b].x0 + 0.5 { return [] }

        // Left to right in branch order from where the leftmost block starts, each block as far left as
        // it goes without covering anything else drawn, with the narrowest gap dot left between blocks.
        let gap = max(8, zip(slots, slots.dropFirst()).map { rects[$1].x0 - rects[$0].x1 }.min() ?? 8)
        var moved: [String: Double] = [:]
        for name in blocks {
            for node in layout.members[name] ?? [name] { moved[node] = 0 }
        }
        let inBlocks = Set(blocks + blocks.flatMap { layout.nested[$0] ?? [] })
        let ancestors = layout.members.filter { name, members in !inBlocks.contains(name) && members.contains { moved[$0] != nil } }.map(\.key)
        var fixed = layout.nodes.filter { moved[$0.key] == nil }.map(\.value)
        fixed += layout.clusters.filter { !inBlocks.contains($0.key) && !ancestors.contains($0.key) }.map(\.value.bb)
        fixed = fixed.map { $0.inset(1) }
        var shift = [Double](repeating: 0, count: blocks.count)
        var x = rects[slots[0]].x0
        for k in blocks.indices {
            var steps = 0
            while let hit = fixed.filter({ $0.overlaps(rects[k].shifted(x - rects[k].x0)) }).min(by: { $0.x1 < $1.x1 }), steps < fixed.count {
                x = hit.x1 + 1 + gap
                steps += 1
            }
            shift[k] = x - rects[k].x0
            x += rects[k].x1 - rects[k].x0 + gap
            for node in layout.members[blocks[k]] ?? [blocks[k]] { moved[node] = shift[k] }
        }
        // How much wider the row became than dot drew it (a block that had to go past something).
        let growth = (blocks.indices.map { rects[$0].x1 + shift[$0] }.max() ?? 0) - (rects.map(\.x1).max() ?? 0)

        var edits: [Edit] = []
        for name in moved.keys.sorted() {
            guard let dx = moved[name], dx != 0, let rect = layout.nodes[name] else { continue }
            edits.append(Edit(target: .node(name), attribute: "pos", value: point((rect.x0 + rect.x1) / 2 + dx, (rect.y0 + rect.y1) / 2)))
        }
        for (k, name) in blocks.enumerated() where shift[k] != 0 {
            for cluster in [name] + (layout.nested[name] ?? []) {
                guard let (bb, lp) = layout.clusters[cluster] else { continue }
                let box = bb.shifted(shift[k])
                edits.append(Edit(target: .cluster(cluster), attribute: "bb", value: self.box(box)))
                if let lp { edits.append(Edit(target: .cluster(cluster), attribute: "lp", value: shifted(lp, shift[k]))) }
            }
        }
        // What holds the blocks grows when they need more room than dot gave them.
        if growth > 0 {
            for name in ancestors.sorted() {
                guard let (bb, _) = layout.clusters[name] else { continue }
                edits.append(Edit(target: .cluster(name), attribute: "bb", value: box(Rect(x0: bb.x0, y0: bb.y0, x1: bb.x1 + growth, y1: bb.y1))))
            }
            if let b = layout.bounds {
                edits.append(Edit(target: .graph, attribute: "bb", value: box(Rect(x0: b.x0, y0: b.y0, x1: b.x1 + growth, y1: b.y1))))
            }
        }
        for (index, edge) in layout.edges.enumerated() {
            let (a, b) = (moved[edge.tail] ?? 0, moved[edge.head] ?? 0)
            if a == b {
                guard a != 0 else { continue }
                for attribute in positionAttributes {
                    if let value = edge.attributes[attribute] { edits.append(Edit(target: .edge(index), attribute: attribute, value: shifted(value, a))) }
                }
            } else if let tail = layout.nodes[edge.tail], let head = layout.nodes[edge.head] {
                edits += redrawn(edge, index, tail.shifted(a), head.shifted(b))
            }
        }
        return edits
    }

    /// A curve from the tail's side facing the head to the head's side facing the tail (an arc over both for
    /// ends on one rank), with its arrowhead, and its label beside the curve's middle.
    private static func redrawn(_ edge: Layout.Edge, _ index: Int, _ tail: Rect, _ head: Rect) -> [Edit] {
        let (tx, hx) = ((tail.x0 + tail.x1) / 2, (head.x0 + head.x1) / 2)
        let start, tip: (Double, Double)
        let bend: Double
        if head.y0 >= tail.y1 {
            (start, tip) = ((tx, tail.y1), (hx, head.y0))
            bend = (tip.1 - start.1) / 2
        } else if tail.y0 >= head.y1 {
            (start, tip) = ((tx, tail.y0), (hx, head.y1))
            bend = (tip.1 - start.1) / 2
        } else {
            // Ends on one rank: an arc over both.
            (start, tip) = ((tx, tail.y1), (hx, head.y1))
            bend = 0
        }
        let arrow = bend == 0 ? 5.0 : (bend > 0 ? -5.0 : 5.0)
        let end = (tip.0, tip.1 + arrow)
        let lift = bend == 0 ? 18 + 0.08 * abs(hx - tx) : bend
        let c1 = (start.0, start.1 + (bend == 0 ? lift : bend))
        let c2 = (end.0, end.1 - (bend == 0 ? -lift : bend))
        var edits = [Edit(target: .edge(index), attribute: "pos", value: "e,\(point(tip.0, tip.1)) " + [start, c1, c2, end].map { point($0.0, $0.1) }.joined(separator: " "))]
        // The label beside the curve's middle, on the right as dot puts it.
        let middle = (0.125 * start.0 + 0.375 * c1.0 + 0.375 * c2.0 + 0.125 * end.0, 0.125 * start.1 + 0.375 * c1.1 + 0.375 * c2.1 + 0.125 * end.1)
        let half = Double(edge.attributes["label"]?.count ?? 0) * 2.4 + 4
        for attribute in ["lp", "xlp"] where edge.attributes[attribute] != nil {
            edits.append(Edit(target: .edge(index), attribute: attribute, value: point(middle.0 + half, middle.1)))
        }
        return edits
    }

    /// Every `x,y` pair in a position attribute moved right by `dx` (a spline's `e,` / `s,` prefixes kept).
    static func shifted(_ value: String, _ dx: Double) -> String {
        value.split(separator: " ").map { token -> String in
            var parts = token.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let first = parts.first == "e" || parts.first == "s" ? 1 : 0
            guard parts.count >= first + 2, let x = Double(parts[first]) else { return String(token) }
            parts[first] = positionNumber(x + dx)
            return parts.joined(separator: ",")
        }.joined(separator: " ")
    }

    private static func box(_ r: Rect) -> String { [r.x0, r.y0, r.x1, r.y1].map(positionNumber).joined(separator: ",") }

    private static func point(_ x: Double, _ y: Double) -> String { positionNumber(x) + "," + positionNumber(y) }
}
