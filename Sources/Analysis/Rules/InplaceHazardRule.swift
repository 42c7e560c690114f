import FormatSupport
import GraphIR

/// Finds in-place ops that overwrite a tensor another branch, or any consumer ordered after them, still reads.
public struct InplaceHazardRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "inplace-hazard",
        severity: .error,
        summary: "An in-place op overwrites a tensor that another branch, or a later op, still reads.",
        rationale: """
            `F.relu_(t)`, `t += x` or `nn.ReLU(inplace=True)` change the tensor itself. When that tensor is the \
            trunk's output and other heads read it too, they read whatever the first head did to it — the \
            heads are no longer computed from the same features. So too for a write in the model's forward that runs \
            after one head read the tensor and before two others read it (`out0 = head0(mem)`, then \
            `m = mem.mul_(0.5)` for head1, then `head2(mem)`): one of them reads what was written for the other, \
            or both read what the first never saw. When an op that ran earlier saved the tensor \
            for its backward pass (a Linear or a convolution keeps its input, a sigmoid or tanh its result), \
            the overwrite makes `backward()` raise "modified by an inplace operation" — even when the in-place \
            head runs last, and with no heads at all when the tensor is a buffer the forward writes after using \
            it (a MoCo queue read as `q @ self.queue`, then filled with the keys). Written through `.data`, \
            which autograd does not watch, it is worse: backward does not raise, and computes those gradients \
            from the overwritten values. A head writing into a trunk tensor the model returns (its slice of the \
            last hidden state) changes what the caller gets, even when nothing in the model reads it again. \
            graphcheck_torch traces record what autograd saved, so a frozen \
            head that keeps nothing is not flagged; other inputs take a Linear or a convolution to keep its input. \
            An in-place op on a tensor nothing else reads (the ReLUs inside ResNet and DenseNet blocks) is fine.
            """,
        fix: """
            Use the out-of-place form in the branch (`F.relu(t)`, `t = t + x`, `nn.ReLU()`), or `.clone()` the \
            shared tensor before changing it; read a buffer the forward changes later through a copy \
            (`q @ self.queue.clone()`), or change it after backward.
            """,
        triggeringExamples: [RuleExamples.threeHeads(head1Inplace: true)],
        nonTriggeringExamples: [RuleExamples.threeHeads(head1Inplace: false)],
        pytorch: RuleExamples.inplace)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        var findings: [Finding] = []
        let backward = graph.recordsSavedTensors ? context.backward : nil
        lazy var feedsOutputs = Self.feedsOutputs(graph)
        lazy var valueByID = Dictionary(graph.values.enumerated().map { ($0.element.id, ValueID($0.offset)) }) { a, _ in a }
        for index in graph.nodes.indices where graph.nodes[index].inplace {
            let node = graph.nodes[index]
            guard let target = node.firstValueInput else { continue }
            var elsewhere = false  // only savers of other elements of the memory written
            // Readers of the old version after the op (frontends that keep it) and readers of the new
            // version in another branch (frontends that follow the tensor object) both see the mutation.
            var readers: [NodeID] = graph[target].uses.map(\.node).filter { $0.index > index }
            // An op written as a head's argument (`self.head1(F.relu_(t))`) is that head's, wherever it runs.
            let region = map.region[index].branch != nil ? map.region[index] : node.argumentOf.flatMap(map.branch(of:)).map(Region.branch) ?? map.region[index]
            // Ops that ran earlier and saved the tensor for their backward pass, which the overwrite breaks
            // ("modified by an inplace operation"). Where the trace records what autograd saved, those ops,
            // wherever they sit, if backward reaches them, in either mode; otherwise, in training mode, earlier
            // readers in another branch that compute with a parameter (linear, conv keep their input).
            if let backward {
                // The ops before this one that made or read `value` and kept it for a backward pass that runs.
                func savers(of value: ValueID) -> [NodeID] {
                    var candidates = graph[value].uses.map(\.node)
                    if let producer = graph[value].producer { candidates.append(producer) }
                    return candidates.filter { $0.index < index && backward[$0.index] && graph[$0].saves.contains(value) }.sorted()
                }
                readers += savers(of: target)
                // Saved values elsewhere in the memory the op writes (another slice of the same tensor).
                let before = readers.count
                for saved in node.overwritesSaved {
                    for saver in savers(of: saved) where !readers.contains(saver) { readers.append(saver) }
                }
                elsewhere = before == 0 && !readers.isEmpty
            } else if graph.mode == .train {
                for use in graph[target].uses where use.node.index < index && graph[use.node].readsStorage {
                    let other = map.region[use.node.index]
                    if other.branch != nil && other != region { readers.append(use.node) }
                }
            }
            var earlier: [NodeID] = [], around = BranchSet()
            // (Where an earlier head saved the tensor, backward raising is what the report says.)
            if region.branch == nil, readers.allSatisfy({ $0.index > index && !feedsOutputs[$0.index] }), let result = node.outputs.first,
               let between = Self.betweenBranches(index, target: target, result: result, graph, map, feedsOutputs) {
                (earlier, around) = (between.earlier, between.branches)
                readers += between.later.filter { !readers.contains($0) }
            }
            if let b = region.branch, let result = node.outputs.first {
                // A head writing into the tensor it was given (its hook or first layer scaling the trunk's features
                // in place): the ops outside it that go on from the write (the trunk's next stage, which the data
                // then ties to this head) compute from what the head did. Not a write through a view into a larger
                // tensor, whose other elements the trunk may read untouched (VOLO's head scaling `x[:, 0]`, then
                // the aux head reading `x[:, 1:]`).
                let written = map.branch(of: node.module) == b || node.argumentOf.flatMap(map.branch(of:)) == b
                let own = !node.throughView && written
                let given = own && (graph[target].producer.map { map.region[$0.index] == .trunk } ?? true)
                // A head changing a tensor it computed itself (MobileBERT's MLM head adding its bias in place into
                // its logits) hands another head that reads the result afterwards that head's result, as any op
                // would: a dependency between the heads, which the other rules judge, not an overwrite.
                let computed = Self.maker(of: target, graph).map { map.region[$0.index] == region } ?? false
                for use in graph[result].uses {
                    let other = map.region[use.node.index]
                    let outside = given && map.branch(of: graph[use.node].module) != b
                    if other != region && other.branch != nil && !computed || outside { readers.append(use.node) }
                }
                // A head's own write through a view (its hook scaling `h[:, 0]`, a token of the trunk's tensor): the
                // ops outside it that read the written elements afterwards, through `select` / `slice` of the tensor's
                // new version, see what it did (another head pooling `h[:, 0:2]`); those reading other elements
                // (VOLO's aux head on `x[:, 1:]`) do not. Into a tensor it computed itself (Grounding DINO's proposal
                // class head filling its scores into a `full` of -inf), as above, it overwrites nothing.
                if node.throughView && written && !computed {
                    readers += Self.laterReadersOfWrittenElements(index, branch: b, graph, map, valueByID).filter { !readers.contains($0) }
                }
            }
            // An op after the write whose result reaches none of the model's outputs sees nothing that matters:
            // autograd remaking a view of the written tensor that the model already holds (DeiT's `x[:, 1]` taken
            // before its head scaled `x[:, 0]` in place) reads the new version, but only the earlier view is read on.
            readers.removeAll { $0.index > index && !feedsOutputs[$0.index] }
            if readers.isEmpty, let made = returnedTrunkTensor(written: target, by: index, region: region, graph, map) {
                // A head writing into a tensor the trunk made and the model returns (YOLOS's box head scaling its
                // slice of the last hidden state in place): the caller gets what the head did, not the trunk's result.
                let evidence = Evidence.InplaceHazard(
                    node: NodeRef(NodeID(index), in: graph), readers: [NodeRef(made, in: graph)], timing: .returned,
                    branches: involved([NodeID(index)], map))
                findings.append(Finding(severity: Self.description.severity, evidence: .inplaceHazard(evidence)))
                continue
            }
            guard !readers.isEmpty else { continue }
            let savedOnly = readers.allSatisfy { $0.index < index }
            // Written through `.data`: backward does not notice. Other elements of the memory are then harmless;
            // the saved elements themselves are worse than a raise — the gradients come out wrong, silently.
            if node.unwatched && elsewhere && savedOnly { continue }
            let evidence = Evidence.InplaceHazard(
                node: NodeRef(NodeID(index), in: graph), readers: readers.map { NodeRef($0, in: graph) },
                timing: savedOnly ? .savedForBackward : earlier.isEmpty ? .readAfter : .between,
                branches: savedOnly || earlier.isEmpty ? involved(readers + [NodeID(index)], map) : map.names(around),
                earlier: savedOnly ? [] : earlier.map { NodeRef($0, in: graph) },
                elsewhere: elsewhere && savedOnly, unwatched: node.unwatched && savedOnly)
            findings.append(Finding(severity: Self.description.severity, evidence: .inplaceHazard(evidence)))
        }
        if let backward { findings += overwrittenStorages(graph, map, backward) }
        return findings
    }

    /// A write in the trunk that runs between the heads' reads of the tensor (`out0 = head0(mem)`, then
    /// `m = mem.mul_(0.5)` for head1, then `head2(mem)`): the ops of branches that read it before the write, those
    /// of other branches that read what it wrote, and all those branches. Nil unless a branch read it before and
    /// two other branches read it after: one head reading after sees the write it was given wherever the write
    /// sits, but of two, at least one reads values written for the other, or both read values the first head
    /// never saw — the heads no longer compute from the same features either way. Autograd cannot say: the early
    /// head saved nothing.
    /// A reader in the trunk counts for the one branch its result goes on into (`head1(seq * 1)` in the parent's
    /// forward). The new version of a tensor written through a view counts only where read whole (not through a
    /// slice, which may hold untouched elements).
    static func betweenBranches(
        _ index: Int, target: ValueID, result: ValueID, _ graph: Graph, _ map: BranchMap, _ feedsOutputs: [Bool]
    ) -> (earlier: [NodeID], later: [NodeID], branches: BranchSet)? {
        let node = graph.nodes[index]
        guard node.argumentOf == nil else { return nil }
        let earlier = graph[target].uses.map(\.node).filter { $0.index < index && feedsOutputs[$0.index] && map.region[$0.index].branch != nil }
        guard !earlier.isEmpty else { return nil }
        var before = BranchSet()
        for op in earlier { before.insert(map.region[op.index].branch!) }
        var later: [NodeID] = [], after = BranchSet()
        for op in graph[result].uses.map(\.node) + graph[target].uses.map(\.node) where op.index > index && feedsOutputs[op.index] {
            guard !node.throughView || !ViewRegion.follows(graph[op]),
                  let b = map.region[op.index].branch ?? onlyBranchFed(by: op, graph, map), !before.contains(b) else { continue }
            later.append(op)
            after.insert(b)
        }
        return after.count >= 2 ? (earlier.sorted(), later.sorted(), before.union(after)) : nil
    }

    /// The one branch the results of the trunk op `op` go on into, through other trunk ops; nil when they reach
    /// none or several (or more ops than a parent's forward between its heads runs).
    private static func onlyBranchFed(by op: NodeID, _ graph: Graph, _ map: BranchMap) -> Int? {
        guard map.region[op.index] == .trunk else { return nil }
        var reached = BranchSet(), seen: Set<NodeID> = [op], pending = [op]
        while let next = pending.popLast() {
            for value in graph[next].outputs {
                for use in graph[value].uses where seen.insert(use.node).inserted {
                    guard seen.count <= 256 else { return nil }
                    let region = map.region[use.node.index]
                    if let b = region.branch { reached.insert(b) } else if region == .trunk { pending.append(use.node) } else { return nil }
                    if reached.count > 1 { return nil }
                }
            }
        }
        return reached.only
    }

    /// The op that made `written`, when the in-place op at `index` is a head's, `written` is not that head's own
    /// tensor, and the model returns it (before or after the write: one tensor object either way).
    private func returnedTrunkTensor(written: ValueID, by index: Int, region: Region, _ graph: Graph, _ map: BranchMap) -> NodeID? {
        guard let b = region.branch, let producer = graph[written].producer, map.region[producer.index] != region else { return nil }
        let versions = [written] + graph.nodes[index].outputs.prefix(1)
        guard graph.outputs.contains(where: versions.contains) else { return nil }
        return map.branch(of: graph[producer].module) == b ? nil : producer
    }

    /// For the new version of a tensor a write through one of its views made (`index`, by branch `b`): the ops
    /// outside `b` that read, through `select` and `slice` of it, elements the write changed. Empty when the view
    /// written or a read is reached through any other op: the elements are then not known.
    /// `valueByID`: the graph's values by id, as the write names the view it went through.
    static func laterReadersOfWrittenElements(
        _ index: Int, branch b: Int, _ graph: Graph, _ map: BranchMap, _ valueByID: [String: ValueID]
    ) -> [NodeID] {
        let node = graph.nodes[index]
        guard case .string(let id)? = node.attributes.first(where: { $0.name == "through_view" })?.value, let written = valueByID[id],
              let writer = graph[written].producer, let view = graph[writer].firstValueInput,
              let base = node.firstValueInput, let result = node.outputs.first,
              var writtenBox = ViewRegion(shape: graph[base].shape), let whole = ViewRegion(shape: graph[result].shape)
        else { return [] }
        var chain: [Node] = []
        var v = view
        while v != base {
            guard let p = graph[v].producer, ViewRegion.follows(graph[p]), let input = graph[p].firstValueInput else { return [] }
            chain.append(graph[p])
            v = input
        }
        for op in chain.reversed() { guard writtenBox.apply(op) else { return [] } }
        var readers: [NodeID] = []
        var pending = [(value: result, box: whole)]
        while let (v, box) = pending.popLast() {
            for use in graph[v].uses where use.node.index > index {
                let op = graph[use.node]
                if ViewRegion.follows(op) {
                    var next = box
                    if use.index == 0, next.apply(op), let out = op.outputs.first { pending.append((out, next)) }
                } else if !op.properties.contains(.relaysOut), box.overlaps(writtenBox), map.branch(of: op.module) != b {
                    readers.append(use.node)
                }
            }
        }
        return readers
    }

    /// The op that computed `value` before any in-place op changed it.
    static func maker(of value: ValueID, _ graph: Graph) -> NodeID? {
        var producer = graph[value].producer
        while let p = producer, graph[p].inplace, let target = graph[p].firstValueInput { producer = graph[target].producer }
        return producer
    }

    /// Per node: whether what it computes flows into one of the model's outputs.
    static func feedsOutputs(_ graph: Graph) -> [Bool] {
        var feeds = [Bool](repeating: false, count: graph.nodes.count)
        var wanted = [Bool](repeating: false, count: graph.values.count)
        for v in graph.outputs { wanted[v.index] = true }
        for index in graph.nodes.indices.reversed() where graph.nodes[index].outputs.contains(where: { wanted[$0.index] }) {
            feeds[index] = true
            for v in graph.nodes[index].valueInputs { wanted[v.index] = true }
        }
        return feeds
    }

    /// The branches the ops lie in, by name.
    private func involved(_ ops: [NodeID], _ map: BranchMap) -> [String] {
        var branches = BranchSet()
        for op in ops { if let b = map.region[op.index].branch { branches.insert(b) } }
        return map.names(branches)
    }

    /// A parameter or buffer an op saved for backward and the forward overwrote in place afterwards (a MoCo
    /// queue read as `q @ self.queue`, then `self.queue[:, :n] = k.T`): with or without branches, backward
    /// raises. The exporter lists such a storage in the saving op's `saves` only when autograd's own version
    /// counter moved, so BatchNorm's running statistics and `.data` writes, which backward ignores, never are.
    private func overwrittenStorages(_ graph: Graph, _ map: BranchMap, _ backward: [Bool]) -> [Finding] {
        var savers: [StorageID: [NodeID]] = [:]
        for index in graph.nodes.indices where backward[index] {
            for s in graph.nodes[index].savedStorages { savers[s, default: []].append(NodeID(index)) }
        }
        guard !savers.isEmpty else { return [] }
        var findings: [Finding] = []
        var reported = Set<StorageID>()
        for index in graph.nodes.indices where graph.nodes[index].inplace {
            for s in graph.nodes[index].writes where !reported.contains(s) {
                let readers = (savers[s] ?? []).filter { $0.index < index }
                guard !readers.isEmpty else { continue }
                reported.insert(s)  // the first overwrite is the one backward trips on
                let evidence = Evidence.InplaceHazard(
                    node: NodeRef(NodeID(index), in: graph), readers: readers.map { NodeRef($0, in: graph) },
                    timing: .savedForBackward, branches: involved(readers + [NodeID(index)], map), tensor: graph[s].names.first)
                findings.append(Finding(severity: Self.description.severity, evidence: .inplaceHazard(evidence)))
            }
        }
        return findings
    }
}

extension Evidence {
    /// An in-place op and the ops, in other branches or later, that read the tensor it overwrites.
    public struct InplaceHazard: EvidenceContent, Equatable {
        public static var rule: RuleDescription { InplaceHazardRule.description }

        public enum Timing: String, Sendable {
            /// The readers read after the overwrite: they see the changed values.
            case readAfter = "read-after"
            /// The readers read before it and saved the tensor for backward, which the overwrite breaks.
            case savedForBackward = "saved-for-backward"
            /// The model returns the tensor written (its one reader, the op that made it): the caller gets the
            /// values after the overwrite.
            case returned
            /// The op runs between the branches' reads: `earlier` read the values before it, the readers those after.
            case between
        }

        public var node: NodeRef
        public var readers: [NodeRef]
        public var timing: Timing
        public var branches: [String]
        /// For `between`: the ops of other branches that read the tensor before the write.
        public var earlier: [NodeRef] = []
        /// The parameter or buffer overwritten, when it is one (nil: a tensor the forward computed).
        public var tensor: String? = nil
        /// The op writes other elements of the memory the saved tensor lies in (`h[:, 8:] = …` after a Linear
        /// kept `h[:, :8]`): autograd's version counter is per memory block, not per element.
        public var elsewhere = false
        /// The op wrote through `.data`, which autograd does not watch: backward computes the savers'
        /// gradients from the overwritten values instead of raising.
        public var unwatched = false

        /// The reading modules, each once, in reader order.
        public var readerModules: [String] { Self.modules(of: readers) }
        static func modules(of ops: [NodeRef]) -> [String] {
            var seen: [String] = []
            for r in ops where !seen.contains(r.module) { seen.append(r.module) }
            return seen
        }
        public var modules: [String] { [node.module] + readerModules }
        public var edgeCount: Int { readers.count }
        /// Ops a slice assignment (`x[:, :4] = 0`, `x[mask] = v`) runs as: there is no `F.` form to suggest.
        static let assignments: Set<String> = ["copy", "fill", "index_put", "masked_fill", "index_copy", "index_fill", "scatter"]
        public var places: [NodeRef] { [node] }

        public var wording: Wording {
            let modules = readerModules
            let who = list(modules.map { $0.isEmpty ? "the model's forward" : $0 })
            let message: String
            switch timing {
            case .savedForBackward where elsewhere:
                message = "\(node.op)_ \(node.located) writes into the memory of a tensor that \(who) saved for the backward "
                    + "pass before it — other elements, but autograd counts changes per memory, not per element: "
                    + "backward() raises \"modified by an inplace operation\""
            case .savedForBackward where unwatched:
                message = "\(node.op)_ \(node.located) overwrites a tensor that \(who) saved for the backward pass before it, "
                    + "through `.data`, which autograd does not watch: backward() does not raise, and computes the gradients of \(who) "
                    + "from the overwritten values"
            case .savedForBackward:
                let what = tensor.map { "`\($0)`, which" } ?? "a tensor that"
                message = "\(node.op)_ \(node.located) overwrites \(what) \(who) saved for the backward pass before it: "
                    + "backward() raises \"modified by an inplace operation\""
            case .returned:
                let maker = readers[0].module.isEmpty ? "the model's forward" : readers[0].module
                message = "\(node.op)_ \(node.located) overwrites a tensor that \(maker) computed and the model returns: "
                    + "the caller gets the values after the in-place \(node.op), not what \(maker) computed"
            case .between:
                let first = list(Self.modules(of: earlier).map { $0.isEmpty ? "the model's forward" : $0 })
                message = "\(node.op)_ \(node.located) overwrites a tensor after \(first) read it, before \(who) read it: "
                    + "\(modules.count == 1 ? "it sees" : "they see") the values after the in-place \(node.op), \(first) those before: "
                    + "the heads no longer compute from the same features"
            case .readAfter:
                message = "\(node.op)_ \(node.located) overwrites a tensor that \(who) also read\(modules.count == 1 ? "s" : ""): "
                    + "\(modules.count == 1 ? "it sees" : "they see") the values after the in-place \(node.op)"
            }
            return Wording(
                message: message, details: earlier.map { "\($0.op) \($0.located), before the write" } + readers.map { "\($0.op) \($0.located)" },
                help: tensor.map { "read a copy where it is saved (`\($0).clone()`), or change `\($0)` after backward, in the training step rather than the forward" }
                    ?? (elsewhere || Self.assignments.contains(node.op)
                        ? "build the result out of place (`torch.cat`, `torch.stack`, `torch.where`) instead of assigning into slices of a tensor other ops read, or `.clone()` it first"
                        : "use the out-of-place form (\(outOfPlace)) or `.clone()` the tensor before changing it"))
        }

        /// How the op is written out of place: arithmetic has no `F.` form.
        private var outOfPlace: String {
            let operators = ["add": "+", "sub": "-", "mul": "*", "div": "/"]
            if let symbol = operators[node.op] { return "`t = t \(symbol) x`, not `t \(symbol)= x` or `t.\(node.op)_(x)`" }
            return "`F.\(node.op)(t)`, `t = t + x`"
        }
    }
}
