import FormatSupport
import GraphIR
import OrderedCollections

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
        triggeringExamples: [RuleExamples.separateHeads(leak: true)],
        nonTriggeringExamples: [RuleExamples.separateHeads(leak: false)],
        pytorch: RuleExamples.leak)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard map.branches.count >= 2 else { return [] }
        // Which branches' outputs each node's result flows into: a reverse sweep from each branch's exits.
        var reaches = [BranchSet](repeating: BranchSet(), count: graph.nodes.count)
        let outputs = Set(graph.outputs)
        for index in stride(from: graph.nodes.count - 1, through: 0, by: -1) {
            if let j = map.region[index].branch {
                // An index or a mask leaving the branch (the codes an argmin picks) takes no gradient back.
                let exits = graph.nodes[index].outputs.contains { v in
                    graph.carriesGradient(v) && (outputs.contains(v) || graph[v].uses.contains { map.region[$0.node.index] != .branch(j) })
                }
                if exits { reaches[index].insert(j) }
            }
            let mask = reaches[index]
            // `.detach()` hands on values, not gradients; nor do indices and masks.
            guard !mask.isEmpty, !graph.nodes[index].properties.contains(.cutsGradient) else { continue }
            graph.forEachGradientValue(of: index) { v in
                if let p = graph[v].producer { reaches[p.index].formUnion(mask) }
            }
        }

        var leaks: OrderedDictionary<[UInt64], [StorageID]> = [:]
        // A frozen parameter (`requires_grad_(False)`) takes no gradient: nothing leaks into it.
        for s in graph.storageIDs where graph[s].trainable
            && (graph.storageIdentity.separatesEqualTensors || map.usedBy[s.index].count < 2)
        {
            // Without storage identity names may not be module paths; with it, a parameter no branch names
            // is the parent's or the trunk's, which every head's gradient reaches by design.
            let owners = map.namedIn[s.index].isEmpty && !graph.storageIdentity.separatesEqualTensors ? map.usedBy[s.index] : map.namedIn[s.index]
            guard !owners.isEmpty else { continue }
            // A trunk tensor tied into one head (BERT's MLM decoder is the word embedding) is the trunk's:
            // every head's gradient reaches the trunk, by design.
            if owners.count == 1, map.namedOutside[s.index] { continue }
            var reached = BranchSet()
            for reader in graph[s].readers where graph.passesGradient(reader.index, toStorage: s) { reached.formUnion(reaches[reader.index]) }
            guard !reached.isEmpty, !(owners.count == 1 && reached == owners) else { continue }
            let key = [owners.bits, reached.bits, context.allowed.contains(s.index) ? 1 : 0]
            leaks[key, default: []].append(s)
        }
        return leaks.map { key, parameters in
            let declared = key[2] == 1
            let evidence = self.evidence(owners: BranchSet(bits: key[0]), reached: BranchSet(bits: key[1]), parameters, declared: declared, context)
            let severity: Severity = declared ? .info : evidence.detachUnknown || evidence.frozenUnknown ? .warning : Self.description.severity
            return Finding(severity: severity, evidence: .gradientLeak(evidence))
        }
    }

    private func evidence(owners: BranchSet, reached: BranchSet, _ parameters: [StorageID], declared: Bool, _ context: AnalysisContext)
        -> Evidence.GradientLeak
    {
        let graph = context.graph, map = context.map
        var groups: [ModuleGroup] = []
        var modules: [String] = []
        if owners.count >= 2 {
            groups = context.grouping.group(parameters, among: owners)
            modules = groups.flatMap(\.paths)
        } else {
            let owner = map.branches[owners.only!]
            for s in parameters {
                let module = ModulePath.child(of: owner, containing: graph[s].names[0])
                if !modules.contains(module) { modules.append(module) }
            }
        }
        // Where the foreign gradient enters: the first reader of the parameters in each reaching branch.
        var places: [NodeRef] = []
        var placed = BranchSet()
        for reader in parameters.flatMap({ graph[$0].readers }).sorted() {
            guard let b = map.region[reader.index].branch, !placed.contains(b) else { continue }
            placed.insert(b)
            places.append(NodeRef(reader, in: graph))
        }
        return Evidence.GradientLeak(
            branches: map.names(owners.union(reached)), owners: map.names(owners), reached: map.names(reached), foreign: map.names(reached.subtracting(owners)),
            parameters: parameters.map { StorageRef($0, in: graph) }, groups: groups, modules: modules,
            edgeCount: parameters.reduce(0) { $0 + graph[$1].readers.count }, declared: declared,
            detachUnknown: !graph.showsDetach && owners.count == 1, frozenUnknown: graph.showsDetach && !graph.showsFrozen && owners.count == 1,
            places: places)
    }
}

extension Evidence {
    /// Parameters of one branch (or shared by several) that another branch's output reaches by backpropagation.
    public struct GradientLeak: EvidenceContent, Equatable {
        public static var rule: RuleDescription { GradientLeakRule.description }

        /// Owners and reached together, in branch order.
        public var branches: [String]
        /// The branches the parameters belong to (several when they are shared).
        public var owners: [String]
        /// The branches whose outputs' gradients reach the parameters.
        public var reached: [String]
        /// Those of `reached` that do not own the parameters.
        public var foreign: [String]
        public var parameters: [StorageRef]
        /// For shared parameters: the modules that hold them in every owner.
        public var groups: [ModuleGroup]
        public var modules: [String]
        public var edgeCount: Int
        public var declared: Bool
        /// The gradient would travel along data edges in an input that drops `.detach()` (ONNX).
        public var detachUnknown: Bool
        /// The parameters reached are one branch's, in an input that does not record which are frozen
        /// (TensorBoard): if they are, nothing leaks.
        public var frozenUnknown: Bool = false
        public var places: [NodeRef]

        public var storages: [StorageRef] { parameters }

        public var wording: Wording {
            var message: String
            var details: [String] = []
            let help: String
            if owners.count >= 2 {
                message = "gradients from the outputs of \(list(reached)) all reach the same \(plural(parameters.count, "parameter")) "
                    + "of \(list(owners)): a loss on any one of them updates the weights of the others"
                details = groups.map { "\($0.label): \(plural($0.storages.count, "parameter"))" }
                help = "the parameters are shared storage (see shared-storage): give each branch its own modules with `copy.deepcopy(...)`"
            } else {
                message = "gradients from the outputs of \(list(foreign)) reach \(plural(parameters.count, "parameter")) of \(owners[0])"
                help = "feed \(list(foreign)) from the trunk only, or `.detach()` the tensor taken from \(owners[0])"
            }
            if declared { message += ", as declared" }
            var notes = ["backpropagation from one branch's loss changes another branch's weights, so the branches cannot be trained apart"]
            if detachUnknown {
                message += ", unless the values were detached"
                notes.append("ONNX exporters drop `.detach()`, so this input cannot tell; a graphcheck_torch trace shows it")
            }
            if frozenUnknown {
                message += ", unless they are frozen"
                notes.append("a TorchScript graph (TensorBoard) does not record `requires_grad`: frozen parameters take no gradient; a graphcheck_torch trace shows it")
            }
            return Wording(message: message, details: details, notes: notes, help: declared ? nil : help)
        }
    }
}
