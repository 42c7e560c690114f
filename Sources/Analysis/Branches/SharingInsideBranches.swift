import GraphIR

/// Storage shared between parallel parts *inside* one branch found automatically: `experts.0 … experts.3`
/// of a mixture whose router is the other branch, when they are one module object (`[expert] * 4`). Whether
/// such parts are meant to be independent heads (experts, per-task heads: then this is the bug) or one head
/// applied per level on purpose (Deformable DETR's class head in every decoder-layer slot) is not in the
/// graph, so instead of passing, the report cannot decide and says which `--branch` options check them.
enum SharingInsideBranches {
    /// Warnings (info when declared) for each deeper split discovery saw inside one of `branches`.
    static func find(_ graph: Graph, _ discovery: Discovery, _ branches: [Branch], allowed: Set<Int>) -> [Finding] {
        var found: [Finding] = []
        for parts in discovery.alternatives {
            let outer = branches.first { branch in
                parts.allSatisfy { part in branch.prefixes.contains { modulePath(part, isWithin: $0) && part != $0 } }
            }
            guard let outer else { continue }
            let context = AnalysisContext(graph: graph, branches: parts, allowed: allowed)
            for finding in SharedStorageRule().check(context) {
                guard var evidence = finding.sharedStorage else { continue }
                evidence.within = outer.name
                found.append(Finding(severity: evidence.declared ? .info : .warning, evidence: .sharedStorage(evidence)))
            }
        }
        return found
    }
}
