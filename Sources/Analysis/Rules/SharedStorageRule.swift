import FormatSupport
import GraphIR
import OrderedCollections

/// Finds parameters and buffers of two or more branches: one tensor named under several heads, or one head's
/// tensor that ops of another use.
public struct SharedStorageRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "shared-storage",
        severity: .error,
        summary: "A parameter or buffer storage belongs to two or more branches: named under each, or used by their ops.",
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
        ],
        pytorch: RuleExamples.sharedStorage)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard map.branches.count >= 2 else { return [] }
        guard graph.storageIdentity.separatesEqualTensors else { return [] }  // shared-initializer speaks for names
        // Grouped by the set of branches sharing, and by whether the user declared the sharing intended.
        // A tensor is a branch's when a name of it lies under the branch's prefix, or when an op of the branch
        // uses it. One no branch names (a parameter of the parent or the trunk, even when each head's
        // continuation in the parent's forward reads it) is the trunk's, shared by design.
        // A tensor one branch names that also goes by a name outside every branch is the trunk's, as a tied
        // embedding is: shared when ops of two branches use it, not by that one name (Deformable DETR's last
        // `class_embed`, also `model.decoder.class_embed.2`, is the two-stage encoder's head: only its ops use it).
        var shared: OrderedDictionary<[UInt64], [StorageID]> = [:]
        for s in graph.storageIDs where !map.namedIn[s.index].isEmpty {
            let named = map.namedIn[s.index]
            let set = map.tiedFromTrunk(s) ? map.usedBy[s.index] : named.union(map.usedBy[s.index])
            guard set.count >= 2 else { continue }
            let key = [set.bits, context.allowed.contains(s.index) ? 1 : 0]
            shared[key, default: []].append(s)
        }
        return shared.map { key, storages in
            let declared = key[1] == 1
            let evidence = self.evidence(BranchSet(bits: key[0]), storages, declared: declared, context)
            return Finding(severity: declared ? .info : Self.description.severity, evidence: .sharedStorage(evidence))
        }
    }

    private func evidence(_ set: BranchSet, _ storages: [StorageID], declared: Bool, _ context: AnalysisContext) -> Evidence.SharedStorage {
        let graph = context.graph, map = context.map
        let branches = map.names(set)
        let groups = context.grouping.group(storages, among: set)
        var statistics: [String] = []
        var statisticsModules = Set<String>()
        for s in storages where graph[s].isRunningStatistic {
            if !statistics.contains(graph[s].attributeName) { statistics.append(graph[s].attributeName) }
            statisticsModules.insert(String(ModulePath.split(tensor: graph[s].names[0]).module))
        }
        var edges = 0
        var firstReader = [NodeID?](repeating: nil, count: map.branches.count)
        for s in storages {
            for op in graph[s].readers + graph[s].writers where set.contains(map.region[op.index]) {
                edges += 1
                let b = map.region[op.index].branch!
                if firstReader[b].map({ op < $0 }) ?? true { firstReader[b] = op }
            }
        }
        // Where the shared modules were made: the nearest module at or above each group's path that the input
        // declares (a model spec's `ref` lines) or whose assignment the exporter recorded (`self.branch2 = …`).
        let paths = groups.flatMap(\.paths)
        let parameters = storages.filter { graph[$0].kind == .parameter }
        let declarations = Self.nearest(paths, in: graph.modules, \.line)
        let assignments = Self.nearest(paths, in: graph.modules, \.source)
        return Evidence.SharedStorage(
            branches: branches, storages: storages.map { StorageRef($0, in: graph) },
            groups: groups,
            runningStatistics: statistics, statisticsModules: statisticsModules.count, edgeCount: edges, declared: declared,
            cause: cause(groups, set, context), places: firstReader.compactMap { $0 }.sorted().map { NodeRef($0, in: graph) },
            declarations: declarations, assignments: assignments,
            frozen: !parameters.isEmpty && parameters.allSatisfy { !graph[$0].trainable })
    }

    /// For each path, `property` of the nearest module at or above it that has one; each value once.
    private static func nearest<T: Hashable>(_ paths: [String], in modules: [ModuleInfo], _ property: KeyPath<ModuleInfo, T?>) -> [T] {
        var table: [String: T] = [:]
        for module in modules { if let value = module[keyPath: property] { table[module.path] = value } }
        guard !table.isEmpty else { return [] }
        var found: [T] = []
        for path in paths {
            let value = table[path] ?? ModulePath.ancestors(of: path).lazy.compactMap { table[String($0)] }.first
            if let value, !found.contains(value) { found.append(value) }
        }
        return found
    }

    /// Names how the sharing came about. The seed's: distinct Sequential containers around the very same
    /// children (`features[-2:]` taken twice), so every child that holds a tensor is shared. A layer made once
    /// and put in every branch (`bn = nn.BatchNorm1d(16)` before the loop that builds the heads) is one object
    /// inside each branch beside layers of their own.
    private func cause(_ groups: [ModuleGroup], _ set: BranchSet, _ context: AnalysisContext) -> Evidence.SharedStorage.Cause {
        let branches = context.map.names(set)
        let containers = branches.map { context.grouping.instance(of: $0) }
        let types = Set(branches.map { context.grouping.type(of: $0) })
        let prefixes = set.map { context.map.prefixes[$0] }
        if groups.contains(where: { group in group.sameObject && zip(group.paths, prefixes).allSatisfy { $1.contains($0) } }) { return .oneObject }
        let parts = groups.filter(\.sameObject)
        guard !parts.isEmpty else { return .reusedTensors }
        let shared = Set(parts.flatMap(\.paths))
        let homes = set.map { context.map.branches[$0] }
        let onlySharedChildren = context.graph.storages.allSatisfy { storage in
            storage.names.allSatisfy { name in
                guard let prefix = homes.first(where: { modulePath(name, isWithin: $0) && name != $0 }) else { return true }
                return shared.contains(ModulePath.child(of: prefix, containing: name))
            }
        }
        if onlySharedChildren && Set(containers.compactMap { $0 }).count == branches.count {
            return .slicedContainers(types: types.sorted())
        }
        return .oneObjectInside
    }
}

extension Evidence {
    /// Parameters and buffers that ops of several branches use: one storage, several heads.
    public struct SharedStorage: EvidenceContent, Equatable {
        public static var rule: RuleDescription { SharedStorageRule.description }

        /// How the sharing came about, as far as the module table shows.
        public enum Cause: Sendable, Equatable {
            /// Distinct containers of these types around the same child modules (`features[-2:]` twice, `copy.copy`).
            case slicedContainers(types: [String])
            /// One module object assigned under several names.
            case oneObject
            /// One module object placed inside every branch, beside modules of their own.
            case oneObjectInside
            /// Tensors reused or tied between otherwise separate modules.
            case reusedTensors
        }

        public var branches: [String]
        public var storages: [StorageRef]
        /// The shared storages by the module that holds them in every branch.
        public var groups: [ModuleGroup]
        /// BatchNorm running statistics among the storages (attribute names), and how many modules hold them.
        public var runningStatistics: [String]
        public var statisticsModules: Int
        public var edgeCount: Int
        /// This sharing is declared intended (`--allow-shared`, the model spec, a config file, or a tie the model declares).
        public var declared: Bool
        public var cause: Cause
        /// The first op of each branch that uses the shared storages.
        public var places: [NodeRef]
        /// The input's lines that declare the shared modules (a model spec's `ref`s), when it has them.
        public var declarations: [Int]
        /// `file:line` of the user's code that assigned the shared modules (`self.branch2 = features[-2:]`),
        /// where the exporter recorded the model's construction.
        public var assignments: [String] = []
        /// Set when the branches here are parallel parts inside this branch found automatically (a deeper
        /// split): whether they are meant to be independent is not in the graph.
        public var within: String?
        /// Every shared parameter is frozen (`requires_grad` false), one at least: freezing one branch froze the
        /// others (a teacher assigned the student itself, then frozen, leaves the student nothing to train).
        public var frozen = false

        public var modules: [String] { groups.flatMap(\.paths) }

        public var wording: Wording {
            let parameters = storages.filter { $0.kind == .parameter }.count
            var details = groups.map { group in
                var what = group.type
                if group.sameObject { what += what.isEmpty ? "one object" : ", one object" }
                let kinds = [plural(group.parameterCount, "parameter"), plural(group.storages.count - group.parameterCount, "buffer")]
                return "\(equivalence(group.paths))\(what.isEmpty ? "" : " (\(what))"): \(kinds.joined(separator: ", "))"
            }
            if !assignments.isEmpty { details.append("assigned at \(Self.lines(assignments))") }
            let message = (within.map { "inside branch \($0), " } ?? "")
                + "\(list(branches)) share \(plural(storages.count, "tensor")) (\(plural(parameters, "parameter")), "
                + "\(plural(storages.count - parameters, "buffer")))" + (declared ? " as declared" : ": the same storage, not copies")
            if declared {
                return Wording(message: message, details: details, notes: ["declared intended: with allow-shared (option, model spec or config file), or by the model itself (a tie it declares)"])
            }
            var notes: [String] = []
            if let within {
                notes.append(
                    "these are parallel parts of branch \(within), each reaching results of its own: graphcheck cannot tell whether they are "
                        + "meant to be independent (the experts of a mixture, one head per task: then this is the bug) or one head applied at "
                        + "every level on purpose (a class head shared by every decoder layer)")
            }
            if !runningStatistics.isEmpty {
                notes.append(
                    "includes BatchNorm running statistics (\(runningStatistics.joined(separator: ", "))) of \(plural(statisticsModules, "BatchNorm module")): "
                        + "in training mode every branch's forward pass updates the same statistics")
            }
            if frozen {
                notes.append(
                    "every shared parameter is frozen (requires_grad False): freezing one of these branches "
                        + "(`for p in teacher.parameters(): p.requires_grad_(False)`) froze the others, which share the tensors; "
                        + "if they are meant to be one frozen base that each branch adapts with weights of its own (LoRA adapters), "
                        + "declare it: `\(allowing)`")
            }
            notes.append(
                "shared storage makes these branches one set of weights forever: every optimizer step moves them together and they "
                    + "can never diverge; deep copies start equal and diverge as soon as their gradients differ")
            guard let within else { return Wording(message: message, details: details, notes: notes, help: help) }
            let check = branches.map { "--branch \($0)" }.joined(separator: " ")
            return Wording(
                message: message, details: details, notes: notes,
                help: "to check them as heads of their own: `\(check)` (\(help)); if the sharing is intended: `--allow-shared '\(within).*'`")
        }

        /// The `--allow-shared` options that declare this sharing: one module path per group (or tensor name).
        private var allowing: String {
            let paths = groups.isEmpty ? storages.compactMap(\.names.first) : groups.compactMap(\.paths.first)
            return paths.map { "--allow-shared '\($0)'" }.joined(separator: " ")
        }

        /// `a.py:24`, `a.py:25`, `b.py:3` → `a.py:24, 25, b.py:3`: the file named once for its lines in a row.
        static func lines(_ sources: [String]) -> String {
            var parts: [String] = []
            var lastFile: Substring?
            for source in sources {
                guard let colon = source.lastIndex(of: ":") else { parts.append(source); lastFile = nil; continue }
                let file = source[..<colon]
                parts.append(file == lastFile ? String(source[source.index(after: colon)...]) : source)
                lastFile = file
            }
            return parts.joined(separator: ", ")
        }

        private var help: String {
            switch cause {
            case .slicedContainers(let types) where !Set(types).isSubset(of: ["Sequential", "ModuleList"]) && !types.contains(""):
                return "\(list(branches)) are different \(types.joined(separator: "/")) objects around the same child modules: a shallow "
                    + "`copy.copy(model)`, or one module passed to each constructor, makes new modules but not new layers. Give each "
                    + "branch its own: `copy.deepcopy(...)` of what is copied or passed"
            case .slicedContainers(let types):
                return "\(list(branches)) are different \(types.joined(separator: "/")) containers around the same child modules: "
                    + "slicing a Sequential (`features[-2:]`) makes a new container but not new layers. "
                    + "Give each branch its own copy: `copy.deepcopy(original_model.features[-2:])`"
            case .oneObject:
                let names = groups.first(where: \.sameObject)?.paths ?? branches
                return "\(list(names)) are one module object assigned under several names; assign `copy.deepcopy(module)` to each branch instead"
            case .oneObjectInside:
                return "\(list(branches)) each hold the same module object (a layer made once and placed in every branch): build it "
                    + "where each branch is built (inside the loop or function), or place `copy.deepcopy(layer)` in each"
            case .reusedTensors:
                return "give each branch its own parameters: build its modules anew or with `copy.deepcopy(...)` instead of reusing (or tying) the tensors of another branch"
            }
        }
    }
}
