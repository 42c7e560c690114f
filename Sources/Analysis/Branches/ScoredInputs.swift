import GraphIR

/// Children whose values another head turns into one of the model's results without learning anything on the
/// way: Grounding DINO's proposal embedding (`enc_output`, `enc_output_norm`), which the box head computes
/// with while the contrastive class head, which has no weights of its own for it, scores it against the text
/// into the proposal logits. Such a child reaches only the box head's results (the scores are no learned op's
/// result), so by reach alone it joins the box head; but two heads start from what it makes, which is what a
/// trunk is.
///
/// A head that adds another head's value into its own learned result (`self.fc(t) + a`) is a leak, not this:
/// the result it returns is made from its own weights too.
enum ScoredInputs {
    /// The children of `candidates` (indices into `members`) that some head in `heads` scores into a result.
    /// `own`: each child's results other than through siblings (a head that scores must reach results of its
    /// own elsewhere, disjoint from the child's). A child that makes a result itself is a head whoever else
    /// reads it.
    static func find(_ candidates: [Int], heads: [Int], members: [[Int]], own: [UInt64], _ graph: Graph, _ terminals: Terminals) -> [Int] {
        let learns = terminals.learns
        let candidates = candidates.filter { c in !members[c].contains { terminals.own[$0] != 0 } }
        guard !candidates.isEmpty else { return [] }
        var entries: [(head: Int, values: [ValueID])] = []
        for d in heads {
            let values = scoredValues(members[d], graph, learns: learns)
            if !values.isEmpty { entries.append((d, values)) }
        }
        guard !entries.isEmpty else { return [] }
        return candidates.filter { c in
            let origin = Origins(graph, from: members[c])
            return entries.contains { d, values in d != c && own[d] & own[c] == 0 && values.contains(where: origin.made) }
        }
    }

    /// The values from outside `ops` that ops among them carry, learning nothing, into an output none of
    /// their learned ops contributes to.
    private static func scoredValues(_ ops: [Int], _ graph: Graph, learns: [Bool]) -> [ValueID] {
        guard let first = ops.min(), ops.contains(where: { !learns[$0] }) else { return [] }
        let member = Set(ops)
        // Forward: the values made from this head's learned ops.
        var tainted = [Bool](repeating: false, count: graph.values.count)
        for n in first..<graph.nodes.count {
            let from = member.contains(n) && learns[n] || graph.nodes[n].valueInputs.contains { tainted[$0.index] }
            if from { for v in graph.nodes[n].outputs { tainted[v.index] = true } }
        }
        // Backward: ops whose results reach an untainted output through ops that learn nothing.
        let outputs = Set(graph.outputs.filter { !tainted[$0.index] })
        guard !outputs.isEmpty else { return [] }
        var scores = [Bool](repeating: false, count: graph.nodes.count)
        for n in stride(from: graph.nodes.count - 1, through: first, by: -1) where !learns[n] {
            scores[n] = graph.nodes[n].outputs.contains { v in
                outputs.contains(v) || graph.carriesGradient(v) && graph[v].uses.contains { scores[$0.node.index] && graph.passesGradient($0.node.index, to: $0.index) }
            }
        }
        var result: [ValueID] = []
        for n in ops where scores[n] {
            graph.forEachGradientValue(of: n) { v in
                if let p = graph[v].producer, member.contains(p.index) { return }
                result.append(v)
            }
        }
        return result
    }
}
