import GraphIR

/// Finds parameters of one branch that another branch's output reaches by backpropagation.
public struct GradientLeakRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "gradient-leak",
        severity: .error,
        summary: "A parameter of one branch receives gradients from another branch's output.",
        rationale: """
            Training a head should change that head and the trunk, nothing else. When another head's loss \
            backpropagates into a branch's parameters — because the branches share the tensors, or because \
            one branch computes with another's values — the heads cannot be trained apart.
            """,
        fix: """
            For shared tensors, give each branch its own modules with copy.deepcopy. For data flowing \
            between branches, feed each branch from the trunk only (or detach the tensor it borrows).
            """,
        triggeringExamples: [
            RuleExamples.separateHeads(head2Input: "a")
        ],
        nonTriggeringExamples: [
            RuleExamples.separateHeads()
        ])

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard map.branches.count >= 2 else { return [] }
        // Which branches' outputs each node's result flows into: a reverse sweep from each branch's exits.
        var reaches = [BranchSet](repeating: BranchSet(), count: graph.nodes.count)
        let outputs = Set(graph.outputs)
        for index in stride(from: graph.nodes.count - 1, through: 0, by: -1) {
            let node = graph.nodes[index]
            let j = map.region[index]
            if j >= 0 {
                let exits = node.outputs.contains { v in
                    outputs.contains(v) || graph[v].uses.contains { map.region[$0.node.index] != j }
                }
                if exits { reaches[index].insert(j) }
            }
            let mask = reaches[index]
            // `.detach()` hands on values, not gradients.
            guard !mask.isEmpty, !node.properties.contains(.cutsGradient) else { continue }
            for v in node.valueInputs {
                if let p = graph[v].producer { reaches[p.index].formUnion(mask) }
            }
        }

        var order: [[UInt64]] = []
        var leaks: [[UInt64]: [StorageID]] = [:]
        for s in graph.storageIDs where graph[s].kind == .parameter
            && (graph.storageIdentity.separatesEqualTensors || map.usedBy[s.index].count < 2)
        {
            let owners = map.namedIn[s.index].isEmpty ? map.usedBy[s.index] : map.namedIn[s.index]
            guard !owners.isEmpty else { continue }
            // A trunk tensor tied into one head (BERT's MLM decoder is the word embedding) is the trunk's:
            // every head's gradient reaches the trunk, by design.
            if owners.count == 1, graph[s].names.contains(where: { map.branch(of: $0) == nil }) { continue }
            var reached = BranchSet()
            for reader in graph[s].readers { reached.formUnion(reaches[reader.index]) }
            guard !reached.isEmpty, !(owners.count == 1 && reached == owners) else { continue }
            let key = [owners.bits, reached.bits, context.allowed.contains(s.index) ? 1 : 0]
            if leaks[key] == nil { order.append(key) }
            leaks[key, default: []].append(s)
        }
        return order.map { finding(owners: BranchSet(bits: $0[0]), reached: BranchSet(bits: $0[1]), leaks[$0]!, declared: $0[2] == 1, context) }
    }

    private func finding(owners: BranchSet, reached: BranchSet, _ parameters: [StorageID], declared: Bool, _ context: AnalysisContext) -> Finding {
        let map = context.map
        let ownerNames = map.names(owners)
        let message: String
        let modules: [String]
        var details: [String] = []
        let help: String
        if owners.count >= 2 {
            message = "gradients from the outputs of \(list(map.names(reached))) all reach the same \(plural(parameters.count, "parameter")) "
                + "of \(list(ownerNames)): a loss on any one of them updates the weights of the others"
            let groups = context.grouping.group(parameters, among: owners)
            modules = groups.flatMap(\.paths)
            details = groups.map { "\(equivalence($0.paths))\($0.type.isEmpty ? "" : " (\($0.type))"): \(plural($0.storages.count, "parameter"))" }
            help = "the parameters are shared storage (see shared-storage): give each branch its own modules with `copy.deepcopy(...)`"
        } else {
            let owner = ownerNames[0]
            let foreign = map.names(reached.subtracting(owners))
            message = "gradients from the outputs of \(list(foreign)) reach \(plural(parameters.count, "parameter")) of \(owner)"
            var seen: [String] = []
            for s in parameters {
                let name = context.graph[s].names[0]
                let module = topModule(name, under: owner)
                if !seen.contains(module) { seen.append(module) }
            }
            modules = seen
            help = "feed \(list(foreign)) from the trunk only, or `.detach()` the tensor taken from \(owner)"
        }
        return Finding(
            rule: Self.description.id, severity: declared ? .info : Self.description.severity,
            message: declared ? message + ", as declared (allow-shared)" : message,
            branches: map.names(owners.union(reached)), modules: modules, storages: parameters.count,
            edges: parameters.reduce(0) { $0 + context.graph[$1].readers.count }, details: details,
            notes: ["backpropagation from one branch's loss changes another branch's weights, so the branches cannot be trained apart"],
            help: declared ? nil : help, storageIDs: parameters)
    }
}
