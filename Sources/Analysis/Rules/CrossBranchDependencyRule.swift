import FormatSupport
import GraphIR

/// Finds ops of one branch that depend on another branch: on a value it computed, a parameter or buffer
/// that belongs to it, or state (BatchNorm running statistics) that its forward pass wrote.
public struct CrossBranchDependencyRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "cross-branch-dependency",
        severity: .error,
        summary: "An op of one branch depends on a value, parameter or state produced or owned by another branch.",
        rationale: """
            Independent branches meet only in the trunk they share. An edge from one branch into another \
            means the second computes with the first's tensors: data it produced, parameters named after it \
            (what TensorBoard's graph view draws as an edge from branch1 into the others when they share \
            weights), or running statistics its forward pass updated in training mode.
            """,
        fix: """
            Feed each branch from the trunk only. When the edges are parameters or BatchNorm statistics, the \
            branches share modules: give each branch its own with copy.deepcopy.
            """,
        triggeringExamples: [RuleExamples.separateHeads(leak: true)],
        nonTriggeringExamples: [RuleExamples.separateHeads(leak: false)],
        pytorch: RuleExamples.leak)

    /// The edges found so far, the tensors they involve, and the source branches' top-level modules.
    private struct Collected {
        var edges: [Evidence.CrossBranchDependency.Edge] = []
        var storages = Set<Int>()
        var modules: [String] = []

        mutating func add(_ edge: Evidence.CrossBranchDependency.Edge, module: String) {
            edges.append(edge)
            if !modules.contains(module) { modules.append(module) }
        }
    }

    /// Per value: the branches whose trainable parameters its gradient would reach, along edges gradients pass.
    /// Where storage identity is known, a parameter read in a branch that no branch names, or that one branch
    /// names beside a name outside every branch, is the trunk's (as for gradient-leak): a GPT-2 LM head is the
    /// word embedding, so a value head reading the logits trains the trunk, not the LM head.
    static func trainedBranches(_ graph: Graph, _ map: BranchMap) -> [BranchSet] {
        var trains = [BranchSet](repeating: BranchSet(), count: graph.values.count)
        let identity = graph.storageIdentity.separatesEqualTensors
        func trunks(_ s: StorageID) -> Bool {
            identity && (map.namedIn[s.index].isEmpty || map.tiedFromTrunk(s))
        }
        for index in graph.nodes.indices where !graph.nodes[index].properties.contains(.cutsGradient) {
            var set = BranchSet()
            for (k, operand) in graph.nodes[index].inputs.enumerated() where graph.passesGradient(index, to: k) {
                switch operand {
                case .value(let v): set.formUnion(trains[v.index])
                case .storage(let s): if graph[s].trainable, !trunks(s), let b = map.region[index].branch { set.insert(b) }
                }
            }
            guard !set.isEmpty else { continue }
            for v in graph.nodes[index].outputs where graph.carriesGradient(v) { trains[v.index] = set }
        }
        return trains
    }

    /// Whether `node` only updates running statistics of a module no branch names (one BatchNorm object of the
    /// parent's applied after each head's body): in training mode its output follows the batch, not what the
    /// other branch wrote, and the module is the trunk's, as its parameters are.
    static func updatesParentStatistic(_ node: Node, _ s: StorageID, _ graph: Graph, _ map: BranchMap) -> Bool {
        graph[s].isRunningStatistic && map.namedIn[s.index].isEmpty && node.writes.contains(s)
    }

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard map.branches.count >= 2 else { return [] }
        var found = Collected()
        var lastWriter = [Int?](repeating: nil, count: graph.storages.count)
        // An op backward never reaches (it only computes positions: a level index, the boxes RoIAlign pools
        // from) ties nothing in training, whatever it reads; nor does a value whose gradient would reach no
        // trainable parameter of the branch that made it (Faster R-CNN's proposals, decoded from detached
        // deltas and anchors, read by the box head; a frozen head's features).
        let backward = context.backward
        let trains = Self.trainedBranches(graph, map)
        for (index, node) in graph.nodes.enumerated() {
            let target = NodeID(index)
            if let j = map.region[index].branch {
                // An index, a mask or an operand backward sends nothing to (RoIAlign's boxes) is read like a
                // detached value: no tie in training.
                for (k, operand) in node.inputs.enumerated() where backward[index] && graph.passesGradient(index, to: k) {
                    guard case .value(let v) = operand, let p = graph[v].producer?.index, map.region[p] != .branch(j) else { continue }
                    for i in map.ancestry[p] where i != j && trains[v.index].contains(i) {
                        found.add(
                            .init(kind: .data, source: i, target: j, producer: NodeID(p), storage: nil, consumer: target),
                            module: ModulePath.child(of: map.branches[i], containing: graph.nodes[p].module))
                    }
                }
                // One edge per (op, tensor): state when another branch's forward last wrote the tensor,
                // otherwise a parameter/buffer edge when the tensor's home is another branch. This is the
                // edge TensorBoard draws from the tensor's node into the op.
                // Reads tie as `BranchMap.readsCount` says; a write always does.
                let reads = map.readsCount[index] ? node.storageInputs : []
                var touched: [StorageID] = []
                for s in reads + node.writes where !touched.contains(s) { touched.append(s) }
                // With names only (ONNX), a tensor read across branches may be two equal tensors merged by
                // the exporter: shared-initializer reports it; only data edges are evidence here.
                for s in touched where !context.allowed.contains(s.index) && graph.storageIdentity.separatesEqualTensors {
                    if let w = lastWriter[s.index], w != j, !Self.updatesParentStatistic(node, s, graph, map) {
                        let name = graph[s].names.first { modulePath($0, isWithin: map.branches[w]) } ?? graph[s].names[0]
                        found.add(.init(kind: .state, source: w, target: j, producer: nil, storage: s, consumer: target), module: ModulePath.child(of: map.branches[w], containing: name))
                        found.storages.insert(s.index)
                    } else if let h = map.home[s.index], h != j {
                        found.add(
                            .init(kind: .parameter, source: h, target: j, producer: nil, storage: s, consumer: target),
                            module: ModulePath.child(of: map.branches[h], containing: graph[s].names[0]))
                        found.storages.insert(s.index)
                    }
                }
            }
            for s in node.writes { lastWriter[s.index] = map.region[index].branch }
        }
        guard !found.edges.isEmpty else { return [] }
        var evidence = Evidence.CrossBranchDependency(
            branchNames: map.branches, edges: found.edges, modules: found.modules,
            storages: found.storages.sorted().map { StorageRef(StorageID($0), in: graph) }, detachUnknown: !graph.showsDetach, graph: graph)
        // Data edges alone tie the branches only through trainable parameters of the source, which a
        // TorchScript graph cannot tell from frozen ones; a shared tensor ties them whatever its gradient.
        evidence.frozenUnknown = graph.showsDetach && !graph.showsFrozen && found.edges.allSatisfy { $0.kind == .data }
        let severity = evidence.detachUnknown || evidence.frozenUnknown ? .warning : Self.description.severity
        return [Finding(severity: severity, evidence: .crossBranchDependency(evidence))]
    }
}

extension Evidence {
    /// Edges from ops, parameters or state of one branch into ops of another.
    public struct CrossBranchDependency: EvidenceContent, Equatable {
        public static var rule: RuleDescription { CrossBranchDependencyRule.description }

        public enum Kind: String, Sendable, CaseIterable {
            /// A value computed in one branch read by an op of another.
            case data
            /// A parameter or buffer whose first name is another branch's (TensorBoard draws it from there).
            case parameter
            /// A tensor another branch's forward last wrote (BatchNorm running statistics in training).
            case state
        }

        /// One edge: its kind, the branches it runs between (indices into `branchNames`), where it comes from
        /// (the producing op, or the tensor) and the op that reads it.
        public struct Edge: Sendable, Equatable {
            public var kind: Kind
            public var source: Int
            public var target: Int
            public var producer: NodeID?
            public var storage: StorageID?
            public var consumer: NodeID
        }

        /// How many edges of each kind run from one branch into another.
        public struct Pair: Sendable, Equatable {
            public var source: String
            public var target: String
            public var data = 0
            public var parameter = 0
            public var state = 0

            public init(source: String, target: String, data: Int = 0, parameter: Int = 0, state: Int = 0) {
                self.source = source
                self.target = target
                self.data = data
                self.parameter = parameter
                self.state = state
            }
        }

        /// Every branch of the analysis, in order; edges index into it.
        public var branchNames: [String]
        public var edges: [Edge]
        /// The top-level modules of the source branches the edges come from.
        public var modules: [String]
        public var storages: [StorageRef]
        /// The input drops `.detach()` (ONNX): data edges may carry values without gradients.
        public var detachUnknown: Bool
        /// Only data edges, in an input that does not record which parameters are frozen (TensorBoard): if
        /// the source's are, the values carry no gradient back.
        public var frozenUnknown = false
        /// The ops at both ends of the edges, by node index.
        public var nodes: [Int: NodeRef]

        init(branchNames: [String], edges: [Edge], modules: [String], storages: [StorageRef], detachUnknown: Bool, graph: Graph) {
            self.branchNames = branchNames
            self.edges = edges
            self.modules = modules
            self.storages = storages
            self.detachUnknown = detachUnknown
            var nodes: [Int: NodeRef] = [:]
            for edge in edges {
                for id in [edge.producer, edge.consumer].compactMap({ $0 }) where nodes[id.index] == nil { nodes[id.index] = NodeRef(id, in: graph) }
            }
            self.nodes = nodes
        }

        /// Edge counts per (target, source) pair, in branch order.
        public var pairs: [Pair] {
            var counts: [[Int]: Pair] = [:]
            for edge in edges {
                let key = [edge.target, edge.source]
                var pair = counts[key] ?? Pair(source: branchNames[edge.source], target: branchNames[edge.target])
                switch edge.kind {
                case .data: pair.data += 1
                case .parameter: pair.parameter += 1
                case .state: pair.state += 1
                }
                counts[key] = pair
            }
            return counts.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { counts[$0]! }
        }

        /// Where the first value of `pair`'s source crosses into its target, for a user to find in their code:
        /// the op that made it, with its line (`add in the model's forward at model.py:69`).
        private func firstDataEdge(_ pair: Pair) -> String? {
            let edge = edges.first { $0.kind == .data && branchNames[$0.source] == pair.source && branchNames[$0.target] == pair.target }
            guard let index = edge?.producer?.index, let op = nodes[index] else { return nil }
            if let source = op.source { return "`\(op.op)` in \(op.place) at \(source)" }
            return op.line.map { "`\(op.op)` in \(op.place), line \($0)" }
        }

        private func names(_ indices: some Sequence<Int>) -> [String] { Set(indices).sorted().map { branchNames[$0] } }
        public var sources: [String] { names(edges.map(\.source)) }
        public var targets: [String] { names(edges.map(\.target)) }
        public var branches: [String] { names(edges.flatMap { [$0.source, $0.target] }) }
        public var edgeCount: Int { edges.count }
        /// The first op of each target branch that reads across.
        public var places: [NodeRef] {
            var seen = Set<Int>()
            return edges.filter { seen.insert($0.target).inserted }.compactMap { nodes[$0.consumer.index] }
        }

        public var wording: Wording {
            var total = Pair(source: "", target: "")
            var details: [String] = []
            for pair in pairs {
                total.data += pair.data
                total.parameter += pair.parameter
                total.state += pair.state
                var parts: [String] = []
                if pair.data > 0 { parts.append(plural(pair.data, "data edge") + (firstDataEdge(pair).map { ", first \($0)" } ?? "")) }
                if pair.parameter > 0 { parts.append(plural(pair.parameter, "read", "reads") + " of \(pair.source)'s parameters/buffers") }
                if pair.state > 0 { parts.append(plural(pair.state, "access", "accesses") + " to state \(pair.source)'s forward wrote") }
                details.append("\(pair.target) ← \(pair.source): \(parts.joined(separator: ", "))")
            }
            var kinds: [String] = []
            if total.data > 0 { kinds.append(plural(total.data, "data edge")) }
            if total.parameter > 0 { kinds.append(plural(total.parameter, "parameter/buffer read")) }
            if total.state > 0 { kinds.append(plural(total.state, "state read/write", "state reads/writes")) }
            var notes: [String] = []
            if total.parameter > 0 {
                let homes = names(edges.filter { $0.kind == .parameter }.map(\.source))
                notes.append(
                    "these are the edges TensorBoard's graph view draws from \(list(homes)) into the other branches: the tensors are "
                        + "shared and carry \(list(homes))'s name\(homes.count == 1 ? "" : "s") because it is their first name")
            }
            // State a branch's forward wrote: the statistics of a module the branches share, or a buffer of
            // one (or of the parent) that one branch updates and another reads (a running centre).
            let stateTensors = storages.filter { ref in edges.contains { $0.kind == .state && $0.storage == ref.id } }
            let ownState = stateTensors.filter { ref in Set(ref.names.compactMap { name in branchNames.firstIndex { modulePath(name, isWithin: $0) } }).count < 2 }
            if stateTensors.count > ownState.count {
                notes.append("in training mode each branch's forward updates BatchNorm running statistics that the next branch reads and updates again")
            }
            if let first = ownState.first {
                notes.append(
                    "in training mode one branch's forward writes \(first.names[0])\(ownState.count > 1 ? " and \(ownState.count - 1) more" : "") and another "
                        + "reads it afterwards: what the reader computes follows the writer's results")
            }
            if total.data > 0 {
                notes.append("values computed in one branch flow into another without going back through the trunk")
            }
            if detachUnknown {
                notes.append(
                    "ONNX exporters drop `.detach()`, so whether gradients cross with these values cannot be told here; "
                        + "a graphcheck_torch trace shows it")
            }
            if frozenUnknown {
                notes.append(
                    "a TorchScript graph (TensorBoard) does not record `requires_grad`: if \(list(sources))'s parameters are frozen, "
                        + "no gradient crosses with these values; a graphcheck_torch trace shows it")
            }
            let ownIDs = Set(ownState.map(\.id))
            let ownStateEdges = edges.filter { $0.kind == .state && $0.storage.map(ownIDs.contains) == true }.count
            return Wording(
                message: "ops of \(list(targets)) depend on \(list(sources)): \(kinds.joined(separator: ", "))",
                details: details, notes: notes,
                help: total.parameter + total.state > ownStateEdges
                    ? "the branches share modules (see shared-storage): give each branch its own with `copy.deepcopy(...)`"
                    : total.data > 0 || ownStateEdges == 0
                        ? "feed each branch from the trunk only, not from another branch's tensors"
                        : "give each branch a buffer of its own, or update it from the trunk only")
        }
    }
}
