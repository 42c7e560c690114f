import GraphIR

/// Finds initializers read by ops of several branches in inputs that know tensors only by name (ONNX).
public struct SharedInitializerRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "shared-initializer",
        severity: .warning,
        summary: "One initializer is read by ops of two or more branches, in an input that only knows tensors by name (ONNX).",
        rationale: """
            ONNX has no storage identity. One initializer read by several branches is either one tensor the \
            PyTorch branches really share (the bug shared-storage finds), or equal-valued tensors the exporter \
            merged — freshly initialized BatchNorm weights are all ones, and identical deep copies are equal \
            until training moves them apart. The file cannot tell which, so there is no verdict.
            """,
        fix: """
            Check at the source: export a trace with graphcheck_torch (`python -m graphcheck_torch …`) or use the \
            model's TensorBoard event file; both keep which tensors are the same object.
            """,
        triggeringExamples: [RuleExamples.namesOnly(head1Reads: "a", head2Reads: "a")],
        nonTriggeringExamples: [RuleExamples.namesOnly(head1Reads: "a", head2Reads: "b")])

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard graph.storageIdentity == .name, map.branches.count >= 2 else { return [] }
        var order: [UInt64] = []
        var shared: [UInt64: [StorageID]] = [:]
        for s in graph.storageIDs where map.usedBy[s.index].count >= 2 && !context.allowed.contains(s.index) && graph[s].mayBeWeight {
            let key = map.usedBy[s.index].bits
            if shared[key] == nil { order.append(key) }
            shared[key, default: []].append(s)
        }
        return order.map { finding(BranchSet(bits: $0), shared[$0]!, context) }
    }

    private func finding(_ set: BranchSet, _ storages: [StorageID], _ context: AnalysisContext) -> Finding {
        let graph = context.graph
        let names = context.map.names(set)
        var modules: [String] = []
        var counts: [String: Int] = [:]
        for s in storages {
            let name = graph[s].names[0]
            let home = context.map.home[s.index].map { context.map.branches[$0] }
            let module = home.map { topModule(name, under: $0) } ?? String(name.split(separator: ".").first ?? "")
            if counts[module] == nil { modules.append(module) }
            counts[module, default: 0] += 1
        }
        return Finding(
            rule: Self.description.id, severity: Self.description.severity,
            message: "\(list(names)) read the same \(plural(storages.count, "initializer")): shared tensors in the PyTorch model, "
                + "or equal tensors the exporter merged — ONNX cannot tell",
            branches: names, modules: modules, storages: storages.count,
            edges: storages.reduce(0) { $0 + graph[$1].readers.count },
            details: modules.map { "\($0): \(plural(counts[$0]!, "initializer")) read by ops of \(list(names))" },
            notes: ["exporters deduplicate initializers by value, so equal weights (BatchNorm's ones and zeros when freshly initialized, identical copies) become one"],
            help: "check at the source: a graphcheck_torch trace or the TensorBoard event file keeps which tensors are the same object",
            storageIDs: storages, undecidable: true)
    }
}
