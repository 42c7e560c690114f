import FormatSupport
import GraphIR
import OrderedCollections

/// Says which branches start from equal weights: each holds its own tensors (no storage in common), and
/// those tensors' values are equal — deep copies of one module, or one state dict loaded into each. This is
/// the answer to "do they all start from the same weights, and will they end up different?": equal copies
/// start equal and diverge; shared storage never does. Needs the values' digests (the PyTorch exporter, a
/// model spec); silent without them.
public struct EqualCopiesRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "equal-copies",
        severity: .info,
        summary: "Branches hold separate tensors with equal values: copies that start equal.",
        rationale: """
            Deep copies (`copy.deepcopy` of one head, or one pretrained state loaded into each head) are \
            separate tensors that start from the same values. Unlike shared storage they are trained apart: \
            they diverge as soon as their gradients differ, which they do when each head has its own loss or \
            targets. Heads that are trained on identical losses of identical inputs stay identical by \
            symmetry. Reported so that the starting point is known; it never makes the verdict fail.
            """,
        fix: "Nothing to fix. To start the heads from different values, re-initialise them (`reset_parameters()`) after copying.",
        triggeringExamples: [
            RuleExamples.twoHeads(
                lets: #""head": {"type": "Linear", "in_features": 4, "out_features": 2}"#,
                heads: #""head1": {"copy": "head"}, "head2": {"copy": "head"}"#)
        ],
        nonTriggeringExamples: [
            RuleExamples.twoHeads(
                heads: #""head1": {"type": "Linear", "in_features": 4, "out_features": 2}, "head2": {"type": "Linear", "in_features": 4, "out_features": 2}"#)
        ],
        pytorch: RuleExamples.equalCopies)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard map.branches.count >= 2, graph.storageIdentity.separatesEqualTensors else { return [] }
        // Each branch's own parameters with known values, by (values, shape, dtype): which branches hold one.
        var holders: OrderedDictionary<String, [Int: [StorageID]]> = [:]
        for s in graph.storageIDs {
            let storage = graph[s]
            guard storage.kind == .parameter, let digest = storage.digest, let b = map.usedBy[s.index].only else { continue }
            holders["\(digest) \(storage.shape ?? []) \(storage.dtype?.name ?? "")", default: [:]][b, default: []].append(s)
        }
        // Values held by two or more branches are copies; grouped by the set of branches holding them.
        var copies: OrderedDictionary<UInt64, [Int: [StorageID]]> = [:]
        for byBranch in holders.values where byBranch.count >= 2 {
            var set = BranchSet()
            for b in byBranch.keys { set.insert(b) }
            for (b, storages) in byBranch { copies[set.bits, default: [:]][b, default: []].append(contentsOf: storages) }
        }
        return copies.map { bits, byBranch in
            let branches = Array(BranchSet(bits: bits))
            let first = byBranch[branches[0]]!
            // Per module of the first branch (one level below the branch), the same module in the others.
            var modules: OrderedDictionary<String, Int> = [:]
            for s in first { modules[top(graph[s].names[0], map.prefixes[branches[0]]), default: 0] += 1 }
            let groups = modules.map { module, count in
                Evidence.EqualCopies.Group(paths: branches.map { b in counterpart(module, from: map.prefixes[branches[0]], to: map.prefixes[b]) }, parameters: count)
            }
            let places = branches.compactMap { b in byBranch[b]!.compactMap { graph[$0].readers.first }.min() }.map { NodeRef($0, in: graph) }
            let evidence = Evidence.EqualCopies(branches: branches.map { map.branches[$0] }, parameters: first.count, groups: groups, places: places)
            return Finding(severity: Self.description.severity, evidence: .equalCopies(evidence))
        }
    }

    /// The module one level below the branch's prefix that holds a tensor (`branch1.denseblock4` for
    /// `branch1.denseblock4.denselayer1.conv1.weight`), or the tensor's module where no prefix holds it.
    private func top(_ tensor: String, _ prefixes: [String]) -> String {
        let module = String(ModulePath.split(tensor: tensor).module)
        guard let prefix = prefixes.filter({ modulePath(module, isWithin: $0) }).max(by: { $0.utf8.count < $1.utf8.count }) else { return module }
        return ModulePath.child(of: prefix, containing: module)
    }

    /// `branch1.denseblock4` seen from branch2: the same path under branch2's prefix in the same position.
    private func counterpart(_ path: String, from source: [String], to target: [String]) -> String {
        guard let i = source.firstIndex(where: { modulePath(path, isWithin: $0) }), i < target.count else { return path }
        return target[i] + path.dropFirst(source[i].count)
    }
}

extension Evidence {
    /// Branches whose own parameters hold equal values: copies, trained apart.
    public struct EqualCopies: EvidenceContent, Equatable {
        public static var rule: RuleDescription { EqualCopiesRule.description }

        /// One module of each branch whose parameters are copies of each other (`branch1.denseblock4 ≡
        /// branch2.denseblock4`), and how many of its parameters are.
        public struct Group: Sendable, Equatable {
            public var paths: [String]
            public var parameters: Int
        }

        public var branches: [String]
        /// Parameters of the first branch with a copy in every other.
        public var parameters: Int
        public var groups: [Group]
        /// The first op of each branch that reads one of them.
        public var places: [NodeRef]

        public var modules: [String] { groups.flatMap(\.paths) }

        public var wording: Wording {
            Wording(
                message: "\(list(branches)) start from equal weights: \(plural(parameters, "parameter")) of each \(parameters == 1 ? "is a copy" : "are copies") of the others' (separate tensors, equal values — not shared storage)",
                details: groups.map { "\(equivalence($0.paths)): \(plural($0.parameters, "parameter")) equal in value" },
                notes: [
                    "copies are trained apart: they diverge as soon as their gradients differ (each head with its own loss or targets); heads trained on identical losses of identical inputs stay identical by symmetry"
                ],
                help: "nothing to fix; to start them from different values, call `reset_parameters()` on each copy's layers after copying")
        }
    }
}
