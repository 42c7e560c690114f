import GraphIR

/// Branches that encode a model input only another head reads: OWL-ViT's text tower turns the queries into
/// embeddings its class head scores the image against. Each reaches a result of its own (the embeddings leave
/// its last learned op for the head's non-learned similarity), so discovery finds it beside the heads; but it
/// reads none of what the other heads compute from, and what it makes flows into a head that also reads other
/// inputs. It is that head's input stage, as a trunk is, not a head the other one leaks into.
///
/// A head fed another head's result (`head2(t + head1(t))`, the leak) reads the trunk both heads read, so
/// it stays a head; towers of separate inputs that meet only in the parent's forward (CLIP) feed no branch. Nor
/// is a branch a stage when a result of its own goes into no other: a tower whose encoder's output another
/// tower's head also reads (`heads[1](encs[1](b) + encs[0](a))`) ends in a head of its own, and the read is a leak.
enum InputStages {
    /// Indices into `branches` of the input stages.
    static func find(_ branches: [Branch], _ graph: Graph, _ terminals: Terminals) -> [Int] {
        let count = branches.count
        guard graph.inputs.count >= 2, graph.inputs.count <= 64, count >= 2, count <= BranchSet.capacity else { return [] }
        let prefixes = branches.map(\.prefixes)
        let owner = graph.nodes.map { BranchMap.branch(of: $0.module, in: prefixes) ?? -1 }
        // Per value: the model inputs it is made from, and the branches whose ops it is made from.
        var inputs = [UInt64](repeating: 0, count: graph.values.count)
        for (position, v) in graph.inputs.enumerated() { inputs[v.index] |= 1 << UInt64(position) }
        var made = [UInt64](repeating: 0, count: graph.values.count)
        var reads = [UInt64](repeating: 0, count: count)  // per branch: the inputs of what it reads from outside
        // Per branch: the inputs of the data it computes from that no branch made (the trunk's output, an input):
        // values that carry a gradient, not a mask or an index.
        var direct = [UInt64](repeating: 0, count: count)
        var fedBy = [UInt64](repeating: 0, count: count)  // per branch: the branches whose results its ops read
        for (index, node) in graph.nodes.enumerated() {
            var from: UInt64 = 0, by: UInt64 = 0
            for v in node.valueInputs {
                from |= inputs[v.index]
                by |= made[v.index]
                if owner[index] >= 0, graph[v].producer.map({ owner[$0.index] != owner[index] }) ?? true {
                    reads[owner[index]] |= inputs[v.index]
                    if made[v.index] == 0 && graph.carriesGradient(v) { direct[owner[index]] |= inputs[v.index] }
                }
            }
            if owner[index] >= 0 {
                fedBy[owner[index]] |= by & ~(1 << UInt64(owner[index]))
                by |= 1 << UInt64(owner[index])
            }
            for v in node.outputs {
                inputs[v.index] |= from
                made[v.index] |= by
            }
        }
        // Its inputs reach the other branches only through it, and what it feeds computes from something else
        // as well (the trunk's output): a Faster R-CNN's RPN reads the images the RoI heads read through the
        // backbone, so it is no stage of theirs.
        let stages = (0..<count).filter { b in
            let bit = UInt64(1) << UInt64(b)
            let fed = (0..<count).filter { fedBy[$0] & bit != 0 }
            guard reads[b] != 0, fedBy[b] == 0, !fed.isEmpty else { return false }
            return fed.allSatisfy { direct[$0] != 0 } && (0..<count).allSatisfy { e in e == b || direct[e] & reads[b] == 0 }
        }
        return stages.filter { b in handsOnEveryResult(b, owner, graph, terminals) }
    }

    /// Whether an op of another branch reads every result branch `b` makes (through ops of no branch): a stage hands
    /// its results on (OWL-ViT's queries, which the class head scores the image against).
    static func handsOnEveryResult(_ b: Int, _ owner: [Int], _ graph: Graph, _ terminals: Terminals) -> Bool {
        var made: UInt64 = 0, read: UInt64 = 0
        var carries = [UInt64](repeating: 0, count: graph.values.count)  // per value, the results of `b` it carries
        for (n, node) in graph.nodes.enumerated() {
            var mask: UInt64 = 0
            for v in node.valueInputs { mask |= carries[v.index] }
            if owner[n] >= 0 && owner[n] != b {
                read |= mask
                continue
            }
            if owner[n] == b {
                made |= terminals.own[n]
                mask |= terminals.own[n]
            }
            for v in node.outputs { carries[v.index] |= mask }
        }
        return made & ~read == 0
    }
}
