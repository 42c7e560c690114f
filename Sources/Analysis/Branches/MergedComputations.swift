import GraphIR

/// Ops an exporter may have merged across branches, in graphs that know tensors only by name (ONNX).
///
/// Common-subexpression elimination keeps one copy of a computation the branches share — the same ops on
/// the same trunk values with equal (deduplicated) weights — named after one branch, and lets the others
/// read it. Such an op says nothing about the branch it is named after. An op counts as merged when it is
/// computed from trunk values and other merged ops only, and either reads no weights or its result reaches
/// an op of another branch through merged ops. Decided by iterating to a fixed point: an op found specific to
/// its branch makes everything computed from it specific too.
enum MergedComputations {
    static func find(in graph: Graph, branchOf: (String) -> Int?) -> [Bool] {
        let count = graph.nodes.count
        guard graph.storageIdentity == .name else { return [Bool](repeating: false, count: count) }
        let branch = graph.nodes.map { branchOf($0.module) }
        var merged = [Bool](repeating: true, count: count)
        while true {
            // Forward: computed only from graph inputs, trunk ops fed the same way, and merged ops.
            var pure = [Bool](repeating: false, count: count)
            for (i, node) in graph.nodes.enumerated() {
                pure[i] = node.valueInputs.allSatisfy { v in
                    guard let p = graph[v].producer?.index else { return true }
                    return pure[p] && (branch[p] == nil || merged[p])
                }
            }
            // Backward: whether the result reaches another branch's op through pure ops.
            var reaches = [Bool](repeating: false, count: count)
            for i in stride(from: count - 1, through: 0, by: -1) where pure[i] && branch[i] != nil {
                reaches[i] = graph.nodes[i].outputs.contains { v in
                    graph[v].uses.contains { use in
                        let c = use.node.index
                        if let other = branch[c], other != branch[i] { return true }
                        return branch[c] != nil && reaches[c]
                    }
                }
            }
            var next = [Bool](repeating: false, count: count)
            for i in 0..<count where branch[i] != nil && pure[i] {
                next[i] = !graph.nodes[i].readsStorage || reaches[i]
            }
            if next == merged { return merged }
            merged = next
        }
    }
}
