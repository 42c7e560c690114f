import FormatSupport

/// Which of a level's edges Graphviz routes. dot's cost follows the ranks its edges span (each spanned
/// rank is a virtual node in crossing minimisation), not the edge count: a DenseNet block, whose every
/// layer reads every earlier layer's output, spans ~18,000 ranks in 48 items and took dot 21 s. When a
/// level's edges span too many ranks, the edges that another path already implies (the transitive
/// reduction's complement) are left out of the layout — the kept chain fixes the same order — and the
/// view draws them as arcs beside it. Every edge is still drawn and still lists its tensors.
enum LongEdges {
    /// Above this many spanned ranks (beyond the first, per edge) a level is laid out on its reduction: a
    /// DenseNet block of 16 layers spans ~560, a transformer layer or a ResNet stage a handful.
    static let spanBudget = 150

    /// For each edge, whether Graphviz lays it out.
    static func routed(items count: Int, edges: [(Int, Int)], budget: Int = spanBudget) -> [Bool] {
        let all = [Bool](repeating: true, count: edges.count)
        var successors = [[Int]](repeating: [], count: count)
        var predecessors = [[Int]](repeating: [], count: count)
        for (from, to) in edges {
            successors[from].append(to)
            predecessors[to].append(from)
        }
        // A cycle (a module called again after its consumer) leaves the level as it is.
        guard edges.count > 1, case .success(let order) = TopologicalOrder.sort(Array(0..<count), dependencies: { predecessors[$0] })
        else { return all }
        var rank = [Int](repeating: 0, count: count)
        for u in order { for v in successors[u] { rank[v] = max(rank[v], rank[u] + 1) } }
        let spanned = edges.reduce(0) { $0 + rank[$1.1] - rank[$1.0] - 1 }
        guard spanned > budget else { return all }

        // Reachability as bitsets, built in reverse topological order.
        let words = (count + 63) / 64
        var reach = [[UInt64]](repeating: [UInt64](repeating: 0, count: words), count: count)
        for u in order.reversed() {
            for v in successors[u] {
                reach[u][v / 64] |= 1 << UInt64(v % 64)
                for w in 0..<words { reach[u][w] |= reach[v][w] }
            }
        }
        // u → v is implied when another successor of u reaches v.
        return edges.map { from, to in
            !successors[from].contains { w in w != to && reach[w][to / 64] & (1 << UInt64(to % 64)) != 0 }
        }
    }
}
