import Dispatch
import FormatSupport
import GraphIR
import OrderedCollections
import Synchronization

/// Runs branch discovery (unless branches are given) and every rule over one graph.
public enum Analyzer {
    /// `branches`: prefixes given by the user or the spec; empty to discover them. `allowShared`: patterns
    /// of sharing that is intended, reported as info instead of errors.
    public static func analyze(_ graph: Graph, branches given: [String] = [], allowShared: [String] = []) throws(InputError) -> Report {
        let branches: [Branch]
        var discovery: Discovery?
        if given.isEmpty {
            let found = BranchDiscovery.discover(graph)
            discovery = found
            branches = found.branches
        } else {
            // `a,b`: one branch of several modules (a gate and a tower of one task), named after the first.
            let parts = given.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            try validate(parts.flatMap { $0 }, in: graph)
            branches = parts.map { Branch(name: $0[0], prefixes: $0) }
        }
        // Ties the model itself declares (the trace's `declared`) are intended as the user's --allow-shared are.
        var allowed = try AllowedSharing(allowShared).storages(in: graph)
        for (index, storage) in graph.storages.enumerated() where storage.declared { allowed.insert(index) }
        let context = AnalysisContext(graph: graph, branches: branches, allowed: allowed)
        var findings = run(allRules, on: context)
        if let discovery, !findings.contains(where: { $0.severity == .error }) {
            findings += SharingInsideBranches.find(context, discovery, branches)
        }
        // Heads grouped into one branch only because there are too many results to tell apart: storage they
        // share is sharing between heads, as anywhere else; what else lies between them goes unchecked.
        for b in discovery?.lumped ?? [] where branches[b].prefixes.count <= BranchSet.capacity {
            findings += SharedStorageRule().check(context.with(branches: branches[b].prefixes))
        }
        var report = Report(
            model: graph.name, branches: branches.map(\.name), branchesDiscovered: given.isEmpty, findings: findings, branchMap: context.map,
            basis: graph.storageIdentity, discovery: discovery)
        report.mode = graph.mode
        var ran = BranchSet()
        for region in context.map.region { if let b = region.branch { ran.insert(b) } }
        report.branchesNotRun = branches.indices.filter { !ran.contains($0) }.map { branches[$0].name }
        if given.isEmpty {
            let ran = modulesThatRan(graph)
            (report.modulesNotRun, report.notRunSameObject) = modulesNotRun(graph, ran: ran)
            if branches.count >= 2 {
                report.findings += sharingWithModulesNotRun(context, branches, notRun: report.modulesNotRun, ran: ran)
            }
            if branches.count < 2 { report.modulesUnreached = modulesUnreached(graph) }
            if branches.count < 2, let discovery, let routed = routedSlots(graph, notRun: report.modulesNotRun, ran: ran) {
                let slots = context.with(branches: routed.branches.map(\.name))
                let sharing = SharedStorageRule().check(slots)
                if sharing.contains(where: { $0.severity == .error }) {
                    var found = discovery
                    (found.branches, found.parent, found.trunk, found.routed) = (routed.branches, routed.parent, [], true)
                    report.findings = run(allRules, on: slots)
                    (report.branches, report.branchMap, report.discovery) = (routed.branches.map(\.name), slots.map, found)
                    report.branchesNotRun = routed.notRun
                }
            }
        }
        return report
    }

    /// Slots of one container (`nn.ModuleList`, `nn.ModuleDict`) of which some ran and some did not, where a
    /// slot that did not run holds a trainable tensor a slot that ran holds too (`self.heads[task](t)` over
    /// `[head] * 3`, or heads whose first layer is one object): the slots that ran first, then those.
    static func routedSlots(_ graph: Graph, notRun: [String], ran: Set<String>) -> (parent: String, branches: [Branch], notRun: [String])? {
        let types = graph.moduleTypes()
        let idle = notRun.filter { types[String(ModulePath.parent(of: $0) ?? "")].map { ["ModuleList", "ModuleDict"].contains($0) } ?? false }
        guard !idle.isEmpty else { return nil }
        func slot(_ name: String, under parent: String) -> String? {
            guard modulePath(name, isWithin: parent), name != parent else { return nil }
            let rest = name.dropFirst(parent.isEmpty ? 0 : parent.utf8.count + 1)
            return (parent.isEmpty ? "" : parent + ".") + String(rest.prefix { $0 != "." })
        }
        for parent in OrderedSet(idle.map { String(ModulePath.parent(of: $0) ?? "") }) {
            var active = OrderedSet<String>()  // slots that ran and share a tensor with one that did not
            var sharing = OrderedSet<String>()
            for storage in graph.storages where storage.kind == .parameter && storage.trainable {
                let slots = storage.names.compactMap { slot($0, under: parent) }
                guard slots.contains(where: idle.contains) else { continue }
                for s in slots where !idle.contains(s) && ran.contains(s) { active.append(s) }
                if slots.contains(where: { !idle.contains($0) }) { for s in slots where idle.contains(s) { sharing.append(s) } }
            }
            guard !active.isEmpty, !sharing.isEmpty else { continue }
            let names = Array(active) + Array(sharing)
            return (parent, names.map { Branch(name: $0) }, Array(sharing))
        }
        return nil
    }

    /// The modules some op (of those `keep` takes) ran under: its call site and every module holding it.
    static func modulesThatRan(_ graph: Graph, where keep: (Int) -> Bool = { _ in true }) -> Set<String> {
        var ran = Set<String>()
        for index in graph.nodes.indices where keep(index) && !ran.contains(graph.nodes[index].module) {
            ran.insert(graph.nodes[index].module)
            for ancestor in ModulePath.ancestors(of: graph.nodes[index].module) { ran.insert(String(ancestor)) }
        }
        return ran
    }

    /// The highest module above `module`, itself included, that is not in `ran` (the model excepted): the head,
    /// not its first conv.
    static func outermost(_ module: String, outside ran: Set<String>) -> String {
        var outer = module
        for ancestor in ModulePath.ancestors(of: module) where !ran.contains(String(ancestor)) && !ancestor.isEmpty { outer = String(ancestor) }
        return outer
    }

    /// The outermost modules with trainable parameters that no op read and under which no op ran; and
    /// slots of a container under which no op ran that are the very module object a sibling slot that ran
    /// is (`heads[task](t)` over `[head] * 3`: its weights were read, under the name of the slot that ran),
    /// each with that sibling.
    static func modulesNotRun(_ graph: Graph, ran: Set<String>) -> ([String], [String: String]) {
        var found: [String] = []
        func outermost(_ module: String) -> String { Analyzer.outermost(module, outside: ran) }
        for storage in graph.storages where storage.kind == .parameter && storage.trainable && storage.readers.isEmpty && storage.writers.isEmpty {
            let module = String(ModulePath.split(tensor: storage.names[0]).module)
            guard !module.isEmpty, !ran.contains(module) else { continue }
            let outer = outermost(module)
            if !found.contains(outer) { found.append(outer) }
        }
        var sameObject: [String: String] = [:]
        // Only modules that did not run and are an object held under other names can be such slots.
        let idle = graph.modules.filter { $0.instance != nil && !$0.path.isEmpty && !ran.contains($0.path) }
        let wanted = Set(idle.compactMap(\.instance))
        guard !wanted.isEmpty else { return (found, sameObject) }
        func slot(_ module: ModuleInfo) -> String? {
            module.instance.map { "\(ModulePath.parent(of: module.path) ?? "")|\($0)" }
        }
        var ranSlot: [String: String] = [:]  // "parent|instance" -> the first slot of that object that ran
        for module in graph.modules where module.instance.map(wanted.contains) == true && ran.contains(module.path) && !module.path.isEmpty {
            if let key = slot(module), ranSlot[key] == nil { ranSlot[key] = module.path }
        }
        guard !ranSlot.isEmpty else { return (found, sameObject) }
        var holding = Set<String>()  // modules with a trainable parameter under some name, and their ancestors
        for storage in graph.storages where storage.kind == .parameter && storage.trainable {
            for name in storage.names {
                let module = ModulePath.split(tensor: name).module
                holding.insert(String(module))
                for ancestor in ModulePath.ancestors(of: String(module)) { holding.insert(String(ancestor)) }
            }
        }
        for module in idle {
            guard let twin = slot(module).flatMap({ ranSlot[$0] }), outermost(module.path) == module.path, !found.contains(module.path),
                  holding.contains(module.path)
            else { continue }
            found.append(module.path)
            sameObject[module.path] = twin
        }
        return (found, sameObject)
    }

    /// The rules' findings in rule order; the rules themselves run on every core (they only read).
    static func run(_ rules: [any Rule], on context: AnalysisContext) -> [Finding] {
        let results = Mutex([[Finding]](repeating: [], count: rules.count))
        DispatchQueue.concurrentPerform(iterations: rules.count) { i in
            let found = rules[i].check(context)
            results.withLock { $0[i] = found }
        }
        return results.withLock { $0.flatMap { $0 } }
    }

    /// A branch prefix must name a module or tensor the graph has; a typo must not pass as "independent".
    static func validate(_ branches: [String], in graph: Graph) throws(InputError) {
        guard branches.count <= BranchSet.capacity else {
            throw InputError(location: "branches", message: "at most \(BranchSet.capacity) branches are supported, \(branches.count) given")
        }
        var known = Set<String>()
        for node in graph.nodes { known.insert(node.module) }
        for module in graph.modules { known.insert(module.path) }
        for (i, prefix) in branches.enumerated() {
            guard !prefix.isEmpty else { throw InputError(location: "branch", message: "a branch prefix must not be empty") }
            guard branches.firstIndex(of: prefix) == i else {
                throw InputError(location: "branch '\(prefix)'", message: "given twice")
            }
            if let outer = branches.first(where: { $0 != prefix && modulePath(prefix, isWithin: $0) }) {
                throw InputError(location: "branch '\(prefix)'", message: "lies inside branch '\(outer)': branches must not overlap")
            }
            let matches = known.contains { modulePath($0, isWithin: prefix) }
                || graph.storages.contains { $0.names.contains { modulePath($0, isWithin: prefix) } }
            guard matches else {
                let tops = Set(known.compactMap { $0.split(separator: ".").first.map(String.init) }).sorted()
                throw InputError(
                    location: "branch '\(prefix)'",
                    message: "unknown branch prefix: no module or tensor path starts with it (top-level modules: \(list(tops, limit: 12))); "
                        + "a head that did not run for the traced input (an auxiliary classifier in eval mode) is not in the trace either")
            }
        }
    }
}
