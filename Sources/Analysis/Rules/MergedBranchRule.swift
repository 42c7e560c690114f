import FormatSupport
import GraphIR
import OrderedCollections

/// Finds modules that have initializers in the model but no ops, their tensors read by another module's
/// ops: the exporter merged their computation into another's (ONNX).
public struct MergedBranchRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "merged-branch",
        severity: .warning,
        summary: "A module has tensors in the model but no ops; another module's ops read them (its computation was merged).",
        rationale: """
            Optimizing exporters merge identical subgraphs: branches that compute the same thing from the same \
            (or equal) weights become one computation, named after one branch, with initializers kept under \
            another branch's names. Such a model no longer shows the branches apart, and cannot show whether \
            they were independent.
            """,
        fix: """
            Check at the source (a graphcheck_torch trace or the TensorBoard event file). Branches that are \
            deep copies diverge once trained; an export of the trained model keeps them apart.
            """,
        triggeringExamples: [RuleExamples.namesOnly(head1Reads: "a", head2Reads: "b", head2Module: "head1.fc")],
        nonTriggeringExamples: [RuleExamples.namesOnly(head1Reads: "a", head2Reads: "b")],
        pytorch: RuleExamples.mergedBranch)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph
        guard graph.storageIdentity == .name else { return [] }
        var withOps = Set<String>()
        for node in graph.nodes {
            withOps.insert(node.module)
            for path in ModulePath.ancestors(of: node.module) { withOps.insert(String(path)) }
        }
        // (module without ops, module whose ops read its tensors) → tensors
        var merged: OrderedDictionary<[String], [StorageID]> = [:]
        for s in graph.storageIDs {
            let name = graph[s].names[0]
            let components = name.split(separator: ".").dropLast().map(String.init)
            guard let depth = components.indices.first(where: { !withOps.contains(components.prefix($0 + 1).joined(separator: ".")) }),
                let reader = graph[s].readers.first
            else { continue }
            let idle = components.prefix(depth + 1).joined(separator: ".")
            let readerComponents = graph.nodes[reader.index].module.split(separator: ".").map(String.init)
            let busy = readerComponents.prefix(depth + 1).joined(separator: ".")
            // A merged *subtree*: sibling modules, the tensor and its reader at the same place inside each.
            // (A conv weight read by the BatchNorm it was fused with is not that: nothing inside differs.)
            guard readerComponents.count > depth + 1, components.count > depth + 1, busy != idle,
                Array(readerComponents.prefix(depth)) == Array(components.prefix(depth)),
                readerComponents[depth + 1] == components[depth + 1]
            else { continue }
            let key = [idle, busy]
            merged[key, default: []].append(s)
        }
        return merged.map { key, tensors in
            let evidence = Evidence.MergedBranch(
                idle: key[0], busy: key[1], initializers: tensors.map { StorageRef($0, in: graph) },
                edgeCount: tensors.reduce(0) { $0 + graph[$1].readers.count },
                places: tensors.compactMap { graph[$0].readers.first }.prefix(1).map { NodeRef($0, in: graph) })
            return Finding(severity: Self.description.severity, evidence: .mergedBranch(evidence))
        }
    }
}

extension Evidence {
    /// A module with initializers but no ops, whose tensors another module's ops read: merged by the exporter.
    public struct MergedBranch: EvidenceContent, Equatable {
        public static var rule: RuleDescription { MergedBranchRule.description }

        /// The module with tensors and no ops.
        public var idle: String
        /// The module whose ops read them.
        public var busy: String
        public var initializers: [StorageRef]
        public var edgeCount: Int
        public var places: [NodeRef]

        public var branches: [String] { [idle, busy] }
        public var modules: [String] { [idle, busy] }
        public var storages: [StorageRef] { initializers }

        public var wording: Wording {
            Wording(
                message: "\(idle) has \(plural(initializers.count, "initializer")) but no ops; ops of \(busy) read them: "
                    + "the exporter merged \(idle)'s computation into \(busy)'s",
                notes: ["a merged model cannot show whether the branches were independent in PyTorch"],
                help: "check at the source: a graphcheck_torch trace or the TensorBoard event file")
        }
    }
}
