import GraphIR

/// Finds modules with parameters called at several call sites (a Siamese encoder, a classifier applied to
/// several features): worth knowing, usually intended.
public struct ModuleReuseRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "module-reuse",
        severity: .info,
        summary: "A module with parameters is called more than once, on different inputs.",
        rationale: """
            Calling one module several times (a Siamese encoder on both images, one classifier on several \
            features) shares its weights between the calls on purpose. It is reported so that a reuse that \
            was not meant is seen; it never makes the verdict fail. Declare it with --allow-shared to record \
            the intent. One object in several slots of a container outside the branches \
            (`nn.ModuleList([block] * 6)`, each slot called once) is the same reuse, and is reported at the slots; \
            so is one layer held in the trunk and in one head (a backbone sliced so that the parts overlap), \
            which every head's loss then trains.
            """,
        fix: "If each call should have its own weights, give each call site its own module (`copy.deepcopy`).",
        triggeringExamples: [RuleExamples.siamese(sharedEncoder: true)],
        nonTriggeringExamples: [RuleExamples.siamese(sharedEncoder: false)],
        pytorch: RuleExamples.siamese)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph
        // Call sites of each parameterized module: ops reading the same tensor under the same path. Only
        // a tensor read twice can be a reuse, so the common case (one reader) costs nothing.
        var calls: [String: Int] = [:]
        let storages = graph.storages  // indexed in place: copying a Storage per test costs its retains
        let weights = storages.indices.filter { storages[$0].kind == .parameter && storages[$0].mayBeWeight }
        let reread = weights.filter { storages[$0].readers.count >= 2 }
        // A weight computed from parameters alone before it is applied (a cosine classifier's
        // `F.normalize(self.weight)`, reading the weight twice; a cast, a transpose) is one use per
        // computation: ops that read no data count as one call per chain of them.
        let chains = reread.isEmpty ? nil : WeightChains(graph)
        for s in reread {
            var perModule: [ModulePart: Int] = [:]
            var chainsPer: [ModulePart: Set<Int>] = [:]
            var split = Set<String>()
            // `w.unsqueeze(0).repeat(n, 1, 1)` reads the weight twice in one use: the reshaping read is no call.
            // A weight split into parts (`nn.MultiheadAttention`'s `in_proj_weight` into query, key and value
            // projections for cross-attention) is read through each part once: its parts, not its calls. So is
            // one whose rows are read one by one (a level embedding's `weight[i]` per feature level): each
            // op says which bytes it read.
            for r in storages[s].readers where !graph.nodes[r.index].module.isEmpty {
                let node = graph.nodes[r.index]
                let part = ModulePart(module: node.module, bytes: node.readBytes)
                switch chains?.chain(of: r.index) {
                case .computes(let chain)?: chainsPer[part, default: []].insert(chain)
                case .relays?: if node.properties.contains(.splits) { split.insert(node.module) }
                case nil: if !node.properties.contains(.relaysOut) { perModule[part, default: 0] += 1 }
                }
            }
            for (part, roots) in chainsPer { perModule[part, default: 0] += roots.count }
            for (part, count) in perModule where count >= 2 && !split.contains(part.module) {
                calls[part.module] = max(calls[part.module] ?? 0, count)
            }
        }
        let inSlots = slotReuse(context)
        guard !calls.isEmpty else { return inSlots }
        var leaves = Set<String>()
        for s in weights {
            for r in storages[s].readers where !graph.nodes[r.index].module.isEmpty { leaves.insert(graph.nodes[r.index].module) }
        }
        // Report at the highest module whose parameterized submodules are all reused (containers that are
        // never called themselves, ModuleList and ModuleDict, are not climbed into).
        let types = graph.moduleTypes()
        var reported: [String] = []
        for module in calls.keys.sorted() {
            var top = module
            for ancestor in ModulePath.ancestors(of: module) {
                let parent = String(ancestor)
                guard !["ModuleList", "ModuleDict"].contains(types[parent] ?? ""),
                    leaves.filter({ modulePath($0, isWithin: parent) }).allSatisfy({ calls[$0] != nil })
                else { break }
                top = parent
            }
            if !reported.contains(where: { modulePath(top, isWithin: $0) }) { reported.append(top) }
        }
        return reported.map { top in
            let times = leaves.filter { modulePath($0, isWithin: top) }.compactMap { calls[$0] }.max() ?? 2
            let declared = graph.storages.indices.contains { context.allowed.contains($0) && graph.storages[$0].names.contains { modulePath($0, isWithin: top) } }
            // The calls: the readers of the most-read weight inside the module.
            let weight = weights.filter { s in storages[s].names.contains { modulePath($0, isWithin: top) } }.max { storages[$0].readers.count < storages[$1].readers.count }
            let places = (weight.map { storages[$0].readers } ?? []).map { NodeRef($0, in: graph) }
            let evidence = Evidence.ModuleReuse(module: top, type: types[top].flatMap { $0.isEmpty ? nil : $0 }, calls: times, declared: declared, places: places)
            return Finding(severity: .info, evidence: .moduleReuse(evidence))
        } + inSlots
    }

    /// Ops that read no data, only parameters or what was made from them alone, joined into the chains
    /// that compute one weight each (`F.normalize(w)`: a norm, a division by it). A chain that only views or
    /// lays the weight out (`w[i]`, `w.unsqueeze(0).repeat(n, 1, 1)`) is no use of it: what is then computed
    /// with it is.
    private struct WeightChains {
        enum Chain { case computes(Int), relays }
        private var root: [Int]  // per node: its chain's first op, or -1 for an op that reads data
        private var computes: [Bool]  // per chain (its first op): some op of it computes

        init(_ graph: Graph) {
            let fromInput = graph.madeFromInputs()
            root = [Int](repeating: -1, count: graph.nodes.count)
            computes = [Bool](repeating: false, count: graph.nodes.count)
            var made = [Int](repeating: -1, count: graph.values.count)  // per value made from parameters alone: its chain
            for (index, node) in graph.nodes.enumerated() where !node.valueInputs.contains(where: { fromInput[$0.index] }) {
                let joined = node.valueInputs.lazy.map { made[$0.index] }.first { $0 >= 0 }
                guard joined != nil || node.readsStorage else { continue }
                let first = joined ?? index
                root[index] = first
                if !node.properties.contains(.relaysOut) { computes[first] = true }
                for v in node.outputs { made[v.index] = first }
            }
        }

        func chain(of node: Int) -> Chain? {
            guard root[node] >= 0 else { return nil }
            return computes[root[node]] ? .computes(root[node]) : .relays
        }
    }

    /// A module and the bytes of a weight one of its ops read (empty: all of it).
    private struct ModulePart: Hashable {
        var module: String
        var bytes: [Int]
    }

    /// One module object in several slots of the model (`nn.ModuleList([block] * 6)`, `self.q = self.k =
    /// layer`): each slot is called under a path of its own, once, so the object is called as often as its
    /// slots ran — one set of weights where the model's structure shows several. Outside the branches, or in
    /// the trunk and one branch (a backbone sliced so that its last layer is also a head's first: every head's
    /// loss trains that head's layer): between branches it is shared storage, and inside one a split of it.
    private func slotReuse(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph
        let aliased = Dictionary(grouping: graph.modules.filter { $0.instance != nil && !$0.path.isEmpty }, by: { $0.instance! })
            .filter { $0.value.count >= 2 }
        guard !aliased.isEmpty else { return [] }
        // Paths under which an op read a parameter: slots that ran and learn.
        var learned = Set<String>()
        var first: [String: Int] = [:]  // per such path, its first op that reads a parameter
        var last = ""
        for (index, node) in graph.nodes.enumerated() where node.storageInputs.contains(where: { graph[$0].kind == .parameter }) {
            guard node.module != last || index == 0 else { continue }
            last = node.module
            for path in [node.module] + ModulePath.ancestors(of: node.module).map(String.init) where learned.insert(path).inserted {
                first[path] = index
            }
        }
        // Outermost first: the slots of `[block] * 6` hold their layers' slots too, reported with them.
        func order(_ slots: [String]) -> (Int, String) {
            (slots.map { $0.utf8.count { $0 == UInt8(ascii: ".") } }.min()!, slots.joined(separator: " "))
        }
        func heldIn(_ slots: [String]) -> Set<Int> { Set(slots.compactMap { context.map.branch(of: $0) }) }
        let groups = aliased.values.map { modules in modules.map(\.path).filter(learned.contains) }
            .filter { slots in
                let branches = heldIn(slots)
                return slots.count >= 2 && (branches.isEmpty || branches.count == 1 && slots.contains { context.map.branch(of: $0) == nil })
            }
            .sorted { order($0) < order($1) }
        var reported: [[String]] = []
        for slots in groups where !reported.contains(where: { outer in slots.allSatisfy { s in outer.contains { modulePath(s, isWithin: $0) } } }) {
            reported.append(slots)
        }
        let types = graph.moduleTypes()
        return reported.map { slots in
            let declared = graph.storages.indices.contains { context.allowed.contains($0) && graph.storages[$0].names.contains { modulePath($0, isWithin: slots[0]) } }
            let evidence = Evidence.ModuleReuse(
                module: slots[0], type: types[slots[0]].flatMap { $0.isEmpty ? nil : $0 }, calls: slots.count, declared: declared,
                places: slots.map { NodeRef(NodeID(first[$0]!), in: graph) }, slots: slots,
                branch: heldIn(slots).first.map { context.map.branches[$0] })
            return Finding(severity: .info, evidence: .moduleReuse(evidence))
        }
    }
}

extension Evidence {
    /// A module with parameters called at several call sites.
    public struct ModuleReuse: EvidenceContent, Equatable {
        public static var rule: RuleDescription { ModuleReuseRule.description }

        public var module: String
        public var type: String?
        public var calls: Int
        public var declared: Bool
        /// One op per call (the reads of its most-read weight).
        public var places: [NodeRef]
        /// The paths one object is held under, each called once (`[block] * 6`); empty when one path is
        /// called several times.
        public var slots: [String] = []
        /// The branch holding one of the slots, the others lying in the trunk.
        public var branch: String? = nil

        public var branches: [String] { [] }
        public var modules: [String] { slots.isEmpty ? [module] : slots }

        public var wording: Wording {
            let declaredNote = declared ? ", as declared" : ""
            guard !slots.isEmpty else {
                return Wording(
                    message: "\(module.isEmpty ? "the model" : module)\(type.map { " (\($0))" } ?? "") is called \(calls) times: its weights are shared between the calls"
                        + declaredNote)
            }
            let trained = branch.map { ", in the trunk and in \($0): that layer of \($0) is trained by every head's loss" } ?? ""
            let help = branch.map { "if \($0) should have a layer of its own, give it a copy (`copy.deepcopy`), or slice the backbone so that the trunk and \($0) do not overlap" }
                ?? "if each slot should have weights of its own, build one module per slot (`nn.ModuleList([Block() for _ in range(n)])`, "
                + "not `[block] * n`; or `copy.deepcopy(block)` per slot)"
            return Wording(
                message: "\(slots.joined(separator: " ≡ "))\(type.map { " (\($0), one object)" } ?? " (one object)") are called once each: one set of weights "
                    + "used \(calls) times" + trained + declaredNote,
                help: declared ? nil : help)
        }
    }
}
