import FormatSupport
import GraphIR
import OrderedCollections

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
        nonTriggeringExamples: [RuleExamples.namesOnly(head1Reads: "a", head2Reads: "b")],
        pytorch: RuleExamples.sharedInitializer)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard graph.storageIdentity == .name, map.branches.count >= 2 else { return [] }
        var shared: OrderedDictionary<UInt64, [StorageID]> = [:]
        for s in graph.storageIDs where map.usedBy[s.index].count >= 2 && !context.allowed.contains(s.index) && graph[s].mayBeWeight {
            let key = map.usedBy[s.index].bits
            shared[key, default: []].append(s)
        }
        return shared.map { finding(BranchSet(bits: $0.key), $0.value, context) }
    }

    private func finding(_ set: BranchSet, _ storages: [StorageID], _ context: AnalysisContext) -> Finding {
        let graph = context.graph
        var counts: OrderedDictionary<String, Int> = [:]
        for s in storages {
            let name = graph[s].names[0]
            let home = context.map.home[s.index].map { context.map.branches[$0] }
            counts[home.map { ModulePath.child(of: $0, containing: name) } ?? String(name.split(separator: ".").first ?? ""), default: 0] += 1
        }
        let modules = counts.map { Evidence.SharedInitializer.Module(path: $0.key, initializers: $0.value) }
        let evidence = Evidence.SharedInitializer(
            branches: context.map.names(set), initializers: storages.map { StorageRef($0, in: graph) }, byModule: modules,
            edgeCount: storages.reduce(0) { $0 + graph[$1].readers.count })
        return Finding(severity: Self.description.severity, evidence: .sharedInitializer(evidence))
    }
}

extension Evidence {
    /// Initializers read by ops of several branches, in an input that knows tensors only by name.
    public struct SharedInitializer: EvidenceContent, Equatable {
        public static var rule: RuleDescription { SharedInitializerRule.description }

        /// A module of the branches and how many of the initializers lie under it.
        public struct Module: Sendable, Equatable {
            public var path: String
            public var initializers: Int
        }

        public var branches: [String]
        public var initializers: [StorageRef]
        public var byModule: [Module]
        public var edgeCount: Int

        public var modules: [String] { byModule.map(\.path) }
        public var storages: [StorageRef] { initializers }

        public var wording: Wording {
            Wording(
                message: "\(list(branches)) read the same \(plural(initializers.count, "initializer")): shared tensors in the PyTorch model, "
                    + "or equal tensors the exporter merged — ONNX cannot tell",
                details: byModule.map { "\($0.path): \(plural($0.initializers, "initializer")) read by ops of \(list(branches))" },
                notes: ["exporters deduplicate initializers by value, so equal weights (BatchNorm's ones and zeros when freshly initialized, identical copies) become one"],
                help: "check at the source: a graphcheck_torch trace or the TensorBoard event file keeps which tensors are the same object")
        }
    }
}
