import GraphIR

/// Storage shared between parallel parts *inside* one branch found automatically: `experts.0 … experts.3`
/// of a mixture whose router is the other branch, when they are one module object (`[expert] * 4`). Whether
/// such parts are meant to be independent heads (experts, per-task heads: then this is the bug) or one head
/// applied per level on purpose is not in the graph, so instead of passing, the report cannot decide and says
/// which `--branch` options check them. One exception says which it is: every branch split the same way,
/// the i-th parts of all branches reading the same tensor (Deformable DETR's class and box heads, one per
/// decoder layer, each pair reading that layer's output): heads applied once per level.
enum SharingInsideBranches {
    /// Warnings (info when declared) for each deeper split discovery saw inside one of `branches`.
    static func find(_ context: AnalysisContext, _ discovery: Discovery, _ branches: [Branch]) -> [Finding] {
        let graph = context.graph
        var nested: [(outer: Int, parts: [String])] = []
        for parts in discovery.alternatives {
            let outer = branches.firstIndex { branch in
                parts.allSatisfy { part in branch.prefixes.contains { modulePath(part, isWithin: $0) && part != $0 } }
            }
            if let outer { nested.append((outer, parts)) }
        }
        guard !nested.isEmpty, !appliedPerLevel(graph, nested, branches: branches.count) else { return [] }
        var found: [Finding] = []
        for (outer, parts) in nested {
            for finding in SharedStorageRule().check(context.with(branches: parts)) {
                guard var evidence = finding.sharedStorage else { continue }
                evidence.within = branches[outer].name
                found.append(Finding(severity: evidence.declared ? .info : .warning, evidence: .sharedStorage(evidence)))
            }
        }
        return found
    }

    /// Whether every branch splits into as many parts, the i-th parts of all of them reading one tensor
    /// (the same value through the same views) and no two levels the same one.
    static func appliedPerLevel(_ graph: Graph, _ nested: [(outer: Int, parts: [String])], branches: Int) -> Bool {
        guard branches >= 2, Set(nested.map(\.outer)).count == branches else { return false }
        let splits = (0..<branches).map { b in nested.first { $0.outer == b }!.parts }
        guard Set(splits.map(\.count)).count == 1 else { return false }
        var levels = Set<InputKey>()
        for i in splits[0].indices {
            let keys = splits.map { input(of: $0[i], graph) }
            guard let key = keys[0], keys.allSatisfy({ $0 == key }), levels.insert(key).inserted else { return false }
        }
        return true
    }

    /// A tensor as a part reads it: the value its first op reads, followed back through ops that only lay
    /// elements out (`select`, `view`), with those ops and their attributes.
    struct InputKey: Hashable {
        var root: Int
        var path: [String]
    }

    static func input(of part: String, _ graph: Graph) -> InputKey? {
        guard let first = graph.nodes.firstIndex(where: { modulePath($0.module, isWithin: part) }),
              var value = graph.nodes[first].firstValueInput else { return nil }
        var path: [String] = []
        while let producer = graph[value].producer, graph[producer].properties.contains(.relaysOut), let source = graph[producer].firstValueInput {
            path.append(graph[producer].op + "(" + graph[producer].attributes.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + ")")
            value = source
        }
        return InputKey(root: value.index, path: path)
    }
}
