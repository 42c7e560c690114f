import GraphIR

/// The model's results as its heads compute them: the values that leave the last learned op on each path
/// to an output. Ops after which no parameter or buffer is read (`cat`, `(x + x_dist) / 2`, upsampling,
/// box decoding and NMS) only post-process; a value that enters them on its way to an output is a terminal,
/// so heads that are concatenated or averaged at the very end still reach terminals of their own. A value the
/// model returns (or post-processes into what it returns) is a terminal even when a learned op goes on
/// computing with it, if that op mixes it with what it was computed from: a cascade
/// (`head2(cat(t, head1(t)))`, `head2(t + head1(t))`) keeps head1's result, and the leak is then found
/// between the heads.
struct Terminals {
    /// Terminals beyond this share the last bit: models with more separate results than heads are rare,
    /// and a shared bit can only merge heads (no verdict), never invent one.
    static let capacity = 64

    /// Per node: the terminals its results flow into (its own result included).
    private(set) var reach: [UInt64]
    /// Whether a result reaches only itself (`stoppingAtResults`).
    private(set) var stopsAtResults = false
    /// Per node: the terminals it produces.
    let own: [UInt64]
    /// Separate results: 1 when every output mixes all terminals into one value.
    let count: Int
    /// Per node: whether it computes with a parameter or buffer (read directly or cast first).
    let learns: [Bool]

    init(_ graph: Graph) {
        let nodes = graph.nodes
        // Both sweeps follow the gradient, which is what training ties together: integers and booleans
        // (indices, masks, labels) carry none, `.detach()` passes none on, and an operand backward sends
        // nothing to (RoIAlign's boxes, which only choose where to read) takes none. So the boxes a box head
        // returns stay its result although the mask head pools from them, and proposals that reach the
        // outputs only that way are nobody's result.
        let outputs = Set(graph.outputs)
        func passes(_ use: Use) -> Bool {
            graph.passesGradient(use.node.index, to: use.index) && !nodes[use.node.index].properties.contains(.cutsGradient)
        }
        // A learned op computes with a parameter or buffer, read directly or cast first (`torch.autocast`),
        // unless it only weighs scores (below).
        let fromInput = graph.madeFromInputs()
        let learns = Terminals.learnedOps(graph, fromInput: fromInput)
        // Backward: whether a learned op follows, or is, this op.
        // And whether its results flow to an output at all: a path that ends nowhere (a base tensor's new
        // version after a write through a view, a hidden state nobody returns) leads to no result.
        var learnedBelow = [Bool](repeating: false, count: nodes.count)
        var toOutput = [Bool](repeating: false, count: nodes.count)
        for index in stride(from: nodes.count - 1, through: 0, by: -1) {
            let results = nodes[index].outputs
            toOutput[index] = results.contains { v in
                outputs.contains(v) || graph.carriesGradient(v) && graph[v].uses.contains { toOutput[$0.node.index] && passes($0) }
            }
            if learns[index] { learnedBelow[index] = true; continue }
            learnedBelow[index] = results.contains { v in graph.carriesGradient(v) && graph[v].uses.contains { learnedBelow[$0.node.index] && passes($0) } }
        }
        var own = [UInt64](repeating: 0, count: nodes.count)
        var count = 0
        var numbered: [Int]?
        func numbers() -> [Int] {
            if numbered == nil { numbered = graph.valueNumbers(drawsAlike: true) }
            return numbered!
        }
        // A value that learned ops go on computing with is an intermediate, even when the post-processing
        // reads it too (Faster R-CNN's proposals are decoded into boxes and pooled into the box head). Being
        // added in place into another tensor does not count: `t += self.head1(t)` keeps head1's result a
        // result (the tensor written is t, whose origin the trunk keeps) — when it is also returned or
        // post-processed; a ResNet block's `out += self.downsample(x)` is only added.
        func computedWith(_ v: ValueID) -> Bool {
            graph[v].uses.contains { use in
                learnedBelow[use.node.index] && passes(use) && !(nodes[use.node.index].inplace && nodes[use.node.index].firstValueInput != v)
            }
        }
        // In node order, so terminal numbering (and everything named after it) is deterministic.
        for index in nodes.indices where learnedBelow[index] {
            for v in nodes[index].outputs {
                let returned = outputs.contains(v) || graph[v].uses.contains { !learnedBelow[$0.node.index] && toOutput[$0.node.index] }
                // What parameters alone make (a learned scale, a learned uncertainty's `exp(-s)`) is the same
                // on every input: no head's result.
                guard returned, fromInput[v.index], graph.carriesGradient(v),
                      !computedWith(v) || Terminals.cascades(v, graph, learns, fromInput: fromInput, outputs: outputs, numbers: numbers) else { continue }
                own[index] |= 1 << UInt64(min(count, Terminals.capacity - 1))
                count += 1
            }
        }
        self.own = own
        self.learns = learns
        // One result made of all of them inside a module: that module is one head computing a sum, its
        // paths trained on one loss like a residual block's (LR-ASPP's classifier returns
        // `low_classifier(low) + high_classifier(x)`). The model's own forward averaging its heads (DeiT's
        // `(x + x_dist) / 2`, an ensemble) keeps them: that is how those heads are served, wrapped or not.
        self.count = count >= 2 && Terminals.everyOutputMixes(graph, own: own, count: count, learns: learns) ? 1 : count
        reach = Terminals.propagate(graph, own: own, blocked: nil)
    }

    /// Per node: whether it computes with a parameter or buffer as a head does. An op that makes or weighs
    /// scores does not: a score is a scalar reduced from what the model computed (a loss, a class-weighted
    /// one included), or what is made of scores alone (`stack(losses)`, `exp(-s) * loss + s`). A multi-task
    /// model that learns its loss weights (uncertainty weighting) scores its heads' outputs after they are
    /// made, and they stay the heads' results. A scalar the model is given (a diffusion step) is no score.
    /// Nor does an element-by-element op whose only weights are single numbers: a learned temperature or
    /// gain (ALIGN's `logits / self.temperature`, as CLIP's `* logit_scale.exp()`) weighs what the heads made.
    static func learnedOps(_ graph: Graph, fromInput: [Bool]) -> [Bool] {
        var learns = graph.computesWithStorage()
        for index in graph.nodes.indices where learns[index] {
            let node = graph.nodes[index]
            if node.properties.contains(.combinesElementwise) && !node.storageInputs.isEmpty
                && !node.storageInputs.contains(where: { graph[$0].mayBeWeight })
                && node.valueInputs.allSatisfy({ fromInput[$0.index] }) {
                learns[index] = false
            }
        }
        var score = [Bool](repeating: false, count: graph.values.count)
        for index in graph.nodes.indices {
            let node = graph.nodes[index]
            var reads = false, onlyScores = true, reduces = false
            for case .value(let v) in node.inputs where fromInput[v.index] {
                reads = true
                onlyScores = onlyScores && score[v.index]
                reduces = reduces || graph[v].shape.map { !$0.isEmpty } ?? false
            }
            let scalar = !node.outputs.isEmpty && node.outputs.allSatisfy { graph[$0].shape == [] }
            guard reads, onlyScores || reduces && scalar else { continue }
            learns[index] = false
            for v in node.outputs { score[v.index] = true }
        }
        return learns
    }

    /// Whether every output the terminals reach is, element by element, a combination of all of them made
    /// inside a submodule (`a + b`, then only post-processing). Losses added into one scalar are not: each
    /// head was scored on its own (`mse(head1(t), y1) + mse(head2(t), y2)`); nor is a concatenation, which
    /// keeps each head's elements its own; nor is an average of heads that all start from what the submodule
    /// was given (an `Ensemble` module, RepViT's classifier averaging `head` and `head_dist`): those are heads
    /// served together, as when the model's own forward averages them. A sum of paths from different inputs
    /// (LR-ASPP's classifier adding a low-level and a high-level path) is one head.
    static func everyOutputMixes(_ graph: Graph, own: [UInt64], count: Int, learns: [Bool]) -> Bool {
        let all: UInt64 = count >= Terminals.capacity ? ~0 : (1 << UInt64(count)) - 1
        // The model's own forward: the model, or the module every op lies in when the model only wraps
        // another (`self.model = timm.create_model(...)`), whose forward then averages the heads.
        let forward = ModulePath.common(graph.nodes.lazy.map(\.module))
        var upstream = [UInt64](repeating: 0, count: graph.values.count)
        var mixed = [Bool](repeating: false, count: graph.values.count)
        for index in graph.nodes.indices {
            var union: UInt64 = 0, first: UInt64 = 0
            // Operands from different terminals; one already mixed; every one from a terminal mixed (what a
            // `cat` joins stays apart: it mixes only when all it joins did).
            var distinct = false, readsMixed = false, allMixed = true
            for case .value(let v) in graph.nodes[index].inputs {
                let terminals = upstream[v.index]
                union |= terminals
                if terminals != 0 {
                    if first == 0 { first = terminals } else if terminals != first { distinct = true }
                    allMixed = allMixed && mixed[v.index]
                }
                readsMixed = readsMixed || mixed[v.index]
            }
            let joins = graph.nodes[index].properties.contains(.joins)
            for v in graph.nodes[index].outputs {
                upstream[v.index] = union | own[index]
                let combines = distinct && union == all && graph.nodes[index].properties.contains(.combinesElementwise)
                    && graph.nodes[index].module != forward
                    && (graph[v].shape.map { elementCount($0) > 1 } ?? false)
                    && !Terminals.parallel(own: own, within: graph.nodes[index].module, graph)
                mixed[v.index] = !learns[index] && own[index] == 0 && (combines || (joins ? readsMixed && allMixed : readsMixed))
            }
        }
        let reached = graph.outputs.filter { upstream[$0.index] != 0 }
        return !reached.isEmpty && reached.allSatisfy { mixed[$0.index] }
    }

    /// Whether the terminals are copies of one head applied side by side inside `module`: each computed from
    /// the same values the module was handed (the gradient's edges followed back until they leave the
    /// module), by the same learned ops on weights of the same shapes. Paths entering from different values
    /// (LR-ASPP's low- and high-level features) or computing differently (a 3×3 and a 1×1 convolution summed
    /// as in a RepVGG block) are parts of one head. What one copy reads of another's result (the distillation
    /// head handed the class head's logits: a leak between them) is not part of its computation, which must not
    /// make the copies one head and the leak vanish with them.
    static func parallel(own: [UInt64], within module: String, _ graph: Graph) -> Bool {
        var first: (entries: Set<Int>, ops: [String])?
        for index in graph.nodes.indices where own[index] != 0 {
            guard ModulePath.isWithin(graph.nodes[index].module, module) else { return false }
            var entries = Set<Int>(), seen = Set<Int>()
            var ops = [Terminals.signature(of: index, graph)]
            var pending = graph.gradientValueInputs(of: index)
            while let v = pending.popLast() {
                guard seen.insert(v.index).inserted else { continue }
                guard let p = graph[v].producer, ModulePath.isWithin(graph.nodes[p.index].module, module) else {
                    entries.insert(v.index); continue
                }
                if own[p.index] != 0 { continue }  // another copy's result
                if !graph.nodes[p.index].storageInputs.isEmpty { ops.append(Terminals.signature(of: p.index, graph)) }
                pending.append(contentsOf: graph.gradientValueInputs(of: p.index))
            }
            ops.sort()
            if entries.isEmpty { return false }
            if let first, first.entries != entries || first.ops != ops { return false }
            first = (entries, ops)
        }
        return first != nil
    }

    /// An op as what it computes with: its name and the shapes of the weights it reads.
    static func signature(of index: Int, _ graph: Graph) -> String {
        let node = graph.nodes[index]
        let shapes = node.storageInputs.map { s in graph[s].shape.map { $0.map(String.init).joined(separator: "x") } ?? "?" }
        return ([node.op] + shapes).joined(separator: " ")
    }

    /// Whether a returned value that learned ops go on computing with is still a result of its own: when a
    /// learned op mixes it with a value it was itself computed from (`head2(cat(t, head1(t)))`, a cascade of
    /// heads, each trained on its own loss), or with a value computed beside it from the same features (an
    /// auxiliary classifier's logits added into a deeper stage's features, MLM logits mixed into the pooled
    /// state the NSP head reads: the leak, which must not make the first head vanish). An encoder's output read
    /// by a decoder, a returned feature map read by the next stage, or a hidden state read by the next layer
    /// (with what that layer computed from it) is read alone: an intermediate, and so is one gathered by
    /// positions computed from the input.
    /// Features computed again count as the same (`head2(trunk(x) + head1(trunk(x)))`, the trunk run once per
    /// head): `numbers` gives the graph's value numbers, asked only when the values themselves do not tell.
    static func cascades(
        _ result: ValueID, _ graph: Graph, _ learns: [Bool], fromInput: [Bool], outputs: Set<ValueID>, numbers: () -> [Int]
    ) -> Bool {
        let nodes = graph.nodes
        func learned(_ n: NodeID) -> Bool { learns[n.index] }
        // The learned ops computing with `result`, through ops that learn nothing (cat, add, views).
        var consumers: [NodeID] = []
        var seen = Set<Int>()
        func gradientUses(_ v: ValueID) -> [NodeID] {
            graph[v].uses.compactMap { graph.passesGradient($0.node.index, to: $0.index) ? $0.node : nil }
        }
        var stack = gradientUses(result)
        while let n = stack.popLast() {
            guard seen.insert(n.index).inserted else { continue }
            if learned(n) { consumers.append(n); continue }
            for v in nodes[n.index].outputs { stack.append(contentsOf: gradientUses(v)) }
        }
        // What each reads besides `result`, back to the nearest learned op or model input.
        var ancestors: Set<Int>?
        for consumer in consumers {
            var sawResult = false
            var others: [ValueID] = []
            var visited = Set<Int>()
            // Only what gradients flow through: an index or a mask (CLIP's `argmax(input_ids)` picking each
            // sequence's last token) selects elements of the result, mixing nothing into it. A detached value is
            // mixed in all the same: OWLv2's objectness head reads the image features through `.detach()`.
            var values = graph.gradientValueInputs(of: consumer.index)
            while let v = values.popLast() {
                guard visited.insert(v.index).inserted else { continue }
                if v == result { sawResult = true; continue }
                guard let p = graph[v].producer, !learned(p) else { others.append(v); continue }
                let detaches = graph.nodes[p.index].properties.contains(.cutsGradient)
                values.append(contentsOf: detaches ? graph.nodes[p.index].valueInputs : graph.gradientValueInputs(of: p.index))
            }
            guard sawResult, !others.isEmpty else { continue }
            if ancestors == nil {
                var found = Set<Int>()
                var pending = [result]
                while let v = pending.popLast() {
                    guard let p = graph[v].producer else { continue }
                    for input in nodes[p.index].valueInputs where found.insert(input.index).inserted { pending.append(input) }
                }
                ancestors = found
            }
            let plain = ancestors!
            if others.contains(where: { plain.contains($0.index) }) { return true }
            if others.contains(where: { besides($0, result, from: { plain.contains($0.index) }, graph, fromInput: fromInput, learns: learns, outputs: outputs) }) {
                return true
            }
            let number = numbers()
            let computed = Set(plain.map { number[$0] })
            func recomputed(_ v: ValueID) -> Bool { computed.contains(number[v.index]) }
            if others.contains(where: recomputed) { return true }
            if others.contains(where: { besides($0, result, from: recomputed, graph, fromInput: fromInput, learns: learns, outputs: outputs) }) { return true }
        }
        return false
    }

    /// Whether `other` is computed beside `result` from the same features: from a value computed from the input
    /// that `result` was computed from too, and neither from `result` itself (a residual's `h + attn(h)`) nor
    /// from another value the model returns (a VAE's decoder reading `mu + eps * exp(logvar / 2)`: two results
    /// read together, by a stage after both). And `result` is a head's output: what a learned op made, through
    /// ops of one operand only (`sigmoid(fc(x))`), not attention weights made of two activations.
    /// `isAncestor`: whether a value is one `result` was computed from.
    static func besides(
        _ other: ValueID, _ result: ValueID, from isAncestor: (ValueID) -> Bool, _ graph: Graph, fromInput: [Bool], learns: [Bool],
        outputs: Set<ValueID>
    ) -> Bool {
        var v = result
        while let p = graph[v].producer, !learns[p.index] {
            let inputs = graph.nodes[p.index].valueInputs
            guard inputs.count == 1 else { return false }
            v = inputs[0]
        }
        guard graph[v].producer != nil else { return false }
        var shared = false
        var seen = Set<Int>()
        var pending = [other]
        while let v = pending.popLast() {
            guard seen.insert(v.index).inserted else { continue }
            if v == result || outputs.contains(v) { return false }
            guard let p = graph[v].producer else { continue }
            if isAncestor(v) && fromInput[v.index] { shared = true; continue }
            pending.append(contentsOf: graph.nodes[p.index].valueInputs)
        }
        return shared
    }

    /// Per model output: the terminals whose results flow into it, along the edges the gradient takes (when
    /// `stopsAtResults`, only the last on each path).
    func perOutput(_ graph: Graph) -> [UInt64] {
        var upstream = [UInt64](repeating: 0, count: graph.values.count)
        for index in graph.nodes.indices {
            var mask = own[index]
            if !(stopsAtResults && mask != 0) { graph.forEachGradientValue(of: index) { mask |= upstream[$0.index] } }
            for v in graph.nodes[index].outputs { upstream[v.index] = mask }
        }
        return graph.outputs.map { upstream[$0.index] }
    }

    /// `reach` recomputed with the ops in `blocked` passing nothing on: which terminals an op reaches
    /// other than through those ops.
    func reach(_ graph: Graph, avoiding blocked: [Bool]) -> [UInt64] {
        Terminals.propagate(graph, own: own, blocked: blocked, stop: stopsAtResults)
    }

    /// The same terminals, where an op that makes a result reaches that result only, not the results of the
    /// heads that go on computing with it: a head's result read by another head (a cascade, or the leak of a
    /// classifier's output into an auxiliary head beside the backbone holding that classifier) then leaves the
    /// first head a head. Nil when no result flows into another.
    func stoppingAtResults(_ graph: Graph) -> Terminals? {
        let stopped = Terminals.propagate(graph, own: own, blocked: nil, stop: true)
        guard stopped != reach else { return nil }
        var result = self
        result.reach = stopped
        result.stopsAtResults = true
        return result
    }

    private static func propagate(_ graph: Graph, own: [UInt64], blocked: [Bool]?, stop: Bool = false) -> [UInt64] {
        var reach = own
        for index in stride(from: graph.nodes.count - 1, through: 0, by: -1) {
            if let blocked, blocked[index] { reach[index] = 0; continue }
            if stop && own[index] != 0 { reach[index] = own[index] }
            let mask = reach[index]
            guard mask != 0 else { continue }
            graph.forEachGradientValue(of: index) { v in
                if let p = graph[v].producer { reach[p.index] |= mask }
            }
        }
        return reach
    }
}
