import GraphIR

/// Finds parameters and buffers that ops of two or more branches use: one tensor, several heads.
public struct SharedStorageRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "shared-storage",
        severity: .error,
        summary: "A parameter or buffer storage is used by ops of two or more branches.",
        rationale: """
            Branches that share storage are one set of weights forever: every optimizer step moves them \
            together and they can never diverge. Shared BatchNorm buffers also mean every branch's forward \
            pass in training mode updates the same running statistics. The usual cause is assigning the \
            same module object (or a slice of an nn.Sequential, which is a new container around the same \
            child modules) to several branches.
            """,
        fix: """
            Give each branch its own modules with copy.deepcopy (for example \
            `self.branch2 = copy.deepcopy(original_model.features[-2:])`). Copies start equal and diverge as \
            soon as their gradients differ.
            """,
        triggeringExamples: [
            RuleExamples.twoHeads(
                lets: #""head": {"type": "Linear", "in_features": 4, "out_features": 2}"#,
                heads: #""head1": {"ref": "head"}, "head2": {"ref": "head"}"#)
        ],
        nonTriggeringExamples: [
            RuleExamples.twoHeads(
                lets: #""head": {"type": "Linear", "in_features": 4, "out_features": 2}"#,
                heads: #""head1": {"ref": "head"}, "head2": {"copy": "head"}"#)
        ])

    static let runningStatistics: Set<String> = ["running_mean", "running_var", "num_batches_tracked"]

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard map.branches.count >= 2 else { return [] }
        guard graph.storageIdentity.separatesEqualTensors else { return [] }  // shared-initializer speaks for names
        // Grouped by the set of branches sharing, and by whether the user declared the sharing intended.
        var order: [[UInt64]] = []
        var shared: [[UInt64]: [StorageID]] = [:]
        for s in graph.storageIDs where map.usedBy[s.index].count >= 2 {
            let key = [map.usedBy[s.index].bits, context.allowed.contains(s.index) ? 1 : 0]
            if shared[key] == nil { order.append(key) }
            shared[key, default: []].append(s)
        }
        return order.map { key in finding(BranchSet(bits: key[0]), shared[key]!, declared: key[1] == 1, context) }
    }

    private func finding(_ set: BranchSet, _ storages: [StorageID], declared: Bool, _ context: AnalysisContext) -> Finding {
        let graph = context.graph
        let branchNames = context.map.names(set)
        let groups = context.grouping.group(storages, among: set)
        let parameters = storages.filter { graph[$0].kind == .parameter }.count
        let buffers = storages.count - parameters
        var details: [String] = []
        for group in groups {
            let p = group.storages.filter { graph[$0].kind == .parameter }.count
            let kinds = [plural(p, "parameter"), plural(group.storages.count - p, "buffer")]
            var what = group.type.isEmpty ? "" : group.type
            if group.sameObject { what += what.isEmpty ? "one object" : ", one object" }
            details.append("\(equivalence(group.paths))\(what.isEmpty ? "" : " (\(what))"): \(kinds.joined(separator: ", "))")
        }
        var notes: [String] = []
        let statistics = storages.filter { Self.runningStatistics.contains(graph[$0].attributeName) }
        if !statistics.isEmpty {
            let modules = Set(statistics.map { graph[$0].names[0].split(separator: ".").dropLast().joined(separator: ".") }).count
            var kinds: [String] = []
            for s in statistics where !kinds.contains(graph[s].attributeName) { kinds.append(graph[s].attributeName) }
            notes.append(
                "includes BatchNorm running statistics (\(kinds.joined(separator: ", "))) of \(plural(modules, "BatchNorm module")): "
                    + "in training mode every branch's forward pass updates the same statistics")
        }
        notes.append(
            "shared storage makes these branches one set of weights forever: every optimizer step moves them together and they "
                + "can never diverge; deep copies start equal and diverge as soon as their gradients differ")
        let edges = storages.reduce(0) { count, s in
            count + (graph[s].readers + graph[s].writers).filter { set.contains(context.map.region[$0.index]) }.count
        }
        if declared { notes = ["declared intended with allow-shared (option, model spec or config file)"] }
        return Finding(
            rule: Self.description.id, severity: declared ? .info : Self.description.severity,
            message: "\(list(branchNames)) share \(plural(storages.count, "tensor")) (\(plural(parameters, "parameter")), \(plural(buffers, "buffer")))"
                + (declared ? " as declared" : ": the same storage, not copies"),
            branches: branchNames, modules: groups.flatMap(\.paths), storages: storages.count, edges: edges,
            details: details, notes: notes, help: declared ? nil : help(groups, set, context), storageIDs: storages,
            groups: groups.map {
                StorageGroup(label: equivalence($0.paths) + ($0.type.isEmpty ? "" : " (\($0.type))"), paths: $0.paths, storages: $0.storages)
            })
    }

    /// Names the pattern when it is the seed's: distinct Sequential containers around the same children.
    private func help(_ groups: [ModuleGrouping.Group], _ set: BranchSet, _ context: AnalysisContext) -> String {
        let branches = context.map.names(set)
        let containers = branches.map { context.grouping.instance(of: $0) }
        let types = Set(branches.map { context.grouping.type(of: $0) })
        let sliced = groups.contains { $0.sameObject && !branches.contains($0.paths[0]) }
            && Set(containers.compactMap { $0 }).count == branches.count
            && types.isSubset(of: ["Sequential", "ModuleList"])
        if sliced {
            return "\(list(branches)) are different \(types.sorted().joined(separator: "/")) containers around the same child modules: "
                + "slicing a Sequential (`features[-2:]`) makes a new container but not new layers. "
                + "Give each branch its own copy: `copy.deepcopy(original_model.features[-2:])`"
        }
        if groups.contains(where: { $0.sameObject && branches.contains($0.paths[0]) }) {
            return "\(list(branches)) are one module object assigned under several names; assign `copy.deepcopy(module)` to each branch instead"
        }
        return "give each branch its own parameters: build its modules anew or with `copy.deepcopy(...)` instead of reusing (or tying) the tensors of another branch"
    }
}
