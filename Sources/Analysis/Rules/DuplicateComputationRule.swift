import FormatSupport
import GraphIR
import OrderedCollections

/// Finds results the model computes more than once from the same weights and the same tensors: heads made
/// of one module object called on the same features (`nn.ModuleList([head] * 3)`) return identical
/// outputs, so they are one head, however many names or slots it has. A trunk computed twice for two
/// different heads is not this: the heads' results differ.
public struct DuplicateComputationRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "duplicate-computation",
        severity: .error,
        summary: "Several of the model's results are one computation: the same weights applied to the same tensors.",
        rationale: """
            Heads that are one module object called on the same features compute the same output: they are \
            one head, trained by every head's loss, and can never tell different things. It is what \
            `nn.ModuleList([head] * 3)` or `self.head2 = self.head1` builds. TensorBoard's graph (TorchScript) \
            shows such heads under a single module path, which is why they look like one reused module there; \
            the repeated computation on the same tensor is what gives them away.
            """,
        fix: """
            Give each head its own module: `nn.ModuleList([copy.deepcopy(head) for _ in range(3)])`, or build \
            each anew. If one output is meant, compute it once.
            """,
        triggeringExamples: [RuleExamples.oneHeadTwice(copied: false)],
        nonTriggeringExamples: [RuleExamples.oneHeadTwice(copied: true), RuleExamples.siamese(sharedEncoder: true)],
        pytorch: RuleExamples.duplicateComputation)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph
        guard graph.storageIdentity.separatesEqualTensors else { return [] }  // ONNX merges equal weights: shared-initializer speaks
        // The heads' results: the values that leave the last learned op on each path to an output (one that
        // reads a weight, or a weight computed from parameters alone: a cosine classifier's normalized one).
        let learned = graph.computesWithStorage()
        var results: [ValueID] = []
        var seen = Set<Int>()
        var pending = graph.outputs
        while let v = pending.popLast() {
            guard seen.insert(v.index).inserted, let p = graph[v].producer else { continue }
            if !learned[p.index] { pending.append(contentsOf: graph[p].valueInputs) } else { results.append(v) }
        }
        // Equal results come from one op kind reading the same weights: without two such, nothing to number
        // (the common case, and value numbering costs a hash of every op).
        var candidates: [[Int]: Int] = [:]
        for v in results { candidates[graph[graph[v].producer!].storageInputs.map(\.index), default: 0] += 1 }
        guard candidates.values.contains(where: { $0 >= 2 }) else { return [] }
        // A value learned ops go on computing with is an intermediate, even when it reaches an output too: a
        // decoder that normalizes its last layer once for the stack of per-layer states its heads read and again
        // for the state it returns (Grounding DINO's) computes its trunk twice, which the heads do not see. One the
        // model returns itself is a result all the same: a VAE's `fc_logvar = fc_mu` returns mu twice, though the
        // decoder also reads both.
        let terminals = Terminals(graph)
        let returned = Set(graph.outputs)
        results.removeAll { terminals.own[graph[$0].producer!.index] == 0 && !returned.contains($0) }
        // A result is made from the model's inputs: what is computed from parameters alone (D-FINE's decoder
        // recomputes its box weighting from two scalar parameters in each layer) is the same value every time
        // by construction, not heads that are one head.
        let fromInput = graph.madeFromInputs()
        results.removeAll { !fromInput[$0.index] }
        let number = graph.valueNumbers()
        // Results that are one value computed several times: heads that are one head.
        var byNumber: OrderedDictionary<Int, [ValueID]> = [:]
        for v in Self.ownResults(results, number: number, in: graph).sorted() { byNumber[number[v.index], default: []].append(v) }
        let types = graph.moduleTypes()
        return byNumber.values.filter { $0.count >= 2 }.map { values in
            let producers = values.map { graph[$0].producer! }
            let modules = producers.map { graph[$0].module }
            // Sharing the user declared intended (tied heads) makes the repetition intended too.
            let declared = producers.allSatisfy { p in graph[p].readsStorage && graph[p].storageInputs.allSatisfy { context.allowed.contains($0.index) } }
            let evidence = Evidence.DuplicateComputation(
                modules: modules, type: types[modules[0]].flatMap { $0.isEmpty ? nil : $0 }, calls: values.count,
                declared: declared, places: producers.map { NodeRef($0, in: graph) })
            return Finding(severity: declared ? .info : Self.description.severity, evidence: .duplicateComputation(evidence))
        }
    }

    /// The results that reach an output on their own: through ops that mix them with nothing but copies of
    /// themselves (a tuple, `cat`, `stack().mean()` of the copies). A copy the parent's forward only mixes into
    /// another head's result (`head2(t) * sigmoid(head1(t))` beside `head1(t)` returned) gates that result; it is
    /// not a second head, and the heads stay what their modules return.
    private static func ownResults(_ results: [ValueID], number: [Int], in graph: Graph) -> [ValueID] {
        // Per value, which result it is made from: none, one (by value number), or several.
        let none = -1, several = -2
        var from = [Int](repeating: none, count: graph.values.count)
        for v in results { from[v.index] = number[v.index] }
        let seeded = Set(results)
        for node in graph.nodes {
            var made = none
            for case .value(let v) in node.inputs where from[v.index] != none {
                made = made == none || made == from[v.index] ? from[v.index] : several
            }
            for v in node.outputs where !seeded.contains(v) { from[v.index] = made }
        }
        // Back from each output made from one result alone, through what is made from it alone.
        var own = Set<ValueID>()
        var seen = Set<Int>()
        var pending = graph.outputs.filter { from[$0.index] >= 0 }
        while let v = pending.popLast() {
            guard seen.insert(v.index).inserted else { continue }
            if seeded.contains(v) { own.insert(v); continue }
            guard let p = graph[v].producer else { continue }
            for case .value(let input) in graph[p].inputs where from[input.index] == from[v.index] { pending.append(input) }
        }
        return results.filter(own.contains)
    }
}

extension Evidence {
    /// Ops that compute the same values from the same tensors, more than once.
    public struct DuplicateComputation: EvidenceContent, Equatable {
        public static var rule: RuleDescription { DuplicateComputationRule.description }

        /// The module path of each call, in call order (the same path repeated when the input names one module).
        public var modules: [String]
        public var type: String?
        /// How many times the same result is computed.
        public var calls: Int
        /// The weights are shared as declared intended (`--allow-shared`, or a tie the model declares): reported as info.
        public var declared: Bool
        /// The last learned op of each computation (the head's output layer).
        public var places: [NodeRef]

        public var branches: [String] { [] }
        public var edgeCount: Int { calls }

        private var distinct: [String] {
            var result: [String] = []
            for module in modules where !result.contains(module) { result.append(module) }
            return result
        }

        public var wording: Wording {
            let who = distinct.count == 1
                ? (distinct[0].isEmpty ? "the model" : distinct[0]) + (type.map { " (\($0))" } ?? "") + " computes"
                : equivalence(distinct) + " compute"
            return Wording(
                message: "\(who) the same result \(calls) times: the same weights applied to the same tensors"
                    + (declared ? ", as declared" : ""),
                details: places.map { "\($0.op) \($0.located)" },
                notes: [
                    "heads that are one module object called on the same features return identical outputs: they are one head, "
                        + "trained by every head's loss, whatever names or slots they have"
                ],
                help: declared ? nil : "give each head its own module (`copy.deepcopy(head)` per slot, not `[head] * n`)")
        }
    }
}
