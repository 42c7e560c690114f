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
        triggeringExamples: [
            RuleExamples.separateHeads(head2Input: "a")
        ],
        nonTriggeringExamples: [
            RuleExamples.separateHeads()
        ])

    /// Edges from one branch into another, by kind.
    private struct Pair {
        var data = 0
        var parameter = 0
        var state = 0
    }

    private struct Collected {
        var pairs: [[Int]: Pair] = [:]
        var order: [[Int]] = []
        var storages = Set<Int>()
        var modules: [String] = []

        mutating func add(_ kind: WritableKeyPath<Pair, Int>, from source: Int, to target: Int, module: String) {
            let key = [target, source]
            if pairs[key] == nil { order.append(key) }
            pairs[key, default: Pair()][keyPath: kind] += 1
            if !modules.contains(module) { modules.append(module) }
        }
    }

    public func check(_ context: AnalysisContext) -> [Finding] {
        let graph = context.graph, map = context.map
        guard map.branches.count >= 2 else { return [] }
        var edges = Collected()
        var lastWriter = [Int?](repeating: nil, count: graph.storages.count)
        for (index, node) in graph.nodes.enumerated() {
            let j = map.region[index]
            if j >= 0 {
                for v in node.valueInputs {
                    guard let p = graph[v].producer?.index, map.region[p] != j else { continue }
                    for i in map.ancestry[p] where i != j {
                        edges.add(\.data, from: i, to: j, module: topModule(graph.nodes[p].module, under: map.branches[i]))
                    }
                }
                // One edge per (op, tensor): state when another branch's forward last wrote the tensor,
                // otherwise a parameter/buffer edge when the tensor's home is another branch. This is the
                // edge TensorBoard draws from the tensor's node into the op.
                var touched: [StorageID] = []
                for s in node.storageInputs + node.writes where !touched.contains(s) { touched.append(s) }
                // With names only (ONNX), a tensor read across branches may be two equal tensors merged by
                // the exporter: shared-initializer reports it; only data edges are evidence here.
                for s in touched where !context.allowed.contains(s.index) && graph.storageIdentity.separatesEqualTensors {
                    if let w = lastWriter[s.index], w != j {
                        let name = graph[s].names.first { modulePath($0, isWithin: map.branches[w]) } ?? graph[s].names[0]
                        edges.add(\.state, from: w, to: j, module: topModule(name, under: map.branches[w]))
                        edges.storages.insert(s.index)
                    } else if let h = map.home[s.index], h != j {
                        edges.add(\.parameter, from: h, to: j, module: topModule(graph[s].names[0], under: map.branches[h]))
                        edges.storages.insert(s.index)
                    }
                }
            }
            for s in node.writes { lastWriter[s.index] = j >= 0 ? j : nil }
        }
        return edges.order.isEmpty ? [] : [finding(edges, context)]
    }

    private func finding(_ edges: Collected, _ context: AnalysisContext) -> Finding {
        let map = context.map
        var sources = BranchSet(), targets = BranchSet(), total = Pair()
        var details: [String] = []
        for key in edges.order.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let (target, source) = (key[0], key[1])
            let pair = edges.pairs[key]!
            targets.insert(target)
            sources.insert(source)
            total.data += pair.data
            total.parameter += pair.parameter
            total.state += pair.state
            let sourceName = map.branches[source]
            var parts: [String] = []
            if pair.data > 0 { parts.append(plural(pair.data, "data edge")) }
            if pair.parameter > 0 { parts.append(plural(pair.parameter, "read", "reads") + " of \(sourceName)'s parameters/buffers") }
            if pair.state > 0 { parts.append(plural(pair.state, "access", "accesses") + " to state \(sourceName)'s forward wrote") }
            details.append("\(map.branches[target]) ← \(sourceName): \(parts.joined(separator: ", "))")
        }
        var kinds: [String] = []
        if total.data > 0 { kinds.append(plural(total.data, "data edge")) }
        if total.parameter > 0 { kinds.append(plural(total.parameter, "parameter/buffer read")) }
        if total.state > 0 { kinds.append(plural(total.state, "state read/write", "state reads/writes")) }
        let sourceNames = map.names(sources), targetNames = map.names(targets)
        var notes: [String] = []
        if total.parameter > 0 {
            let homes = Set(edges.pairs.filter { $0.value.parameter > 0 }.map { $0.key[1] }).sorted().map { map.branches[$0] }
            notes.append(
                "these are the edges TensorBoard's graph view draws from \(list(homes)) into the other branches: the tensors are "
                    + "shared and carry \(list(homes))'s name\(homes.count == 1 ? "" : "s") because it is their first name")
        }
        if total.state > 0 {
            notes.append("in training mode each branch's forward updates BatchNorm running statistics that the next branch reads and updates again")
        }
        if total.data > 0 {
            notes.append("values computed in one branch flow into another without going back through the trunk")
        }
        return Finding(
            rule: Self.description.id, severity: Self.description.severity,
            message: "ops of \(list(targetNames)) depend on \(list(sourceNames)): \(kinds.joined(separator: ", "))",
            branches: map.names(sources.union(targets)), modules: edges.modules, storages: edges.storages.count,
            edges: total.data + total.parameter + total.state, details: details, notes: notes,
            help: total.parameter + total.state > 0
                ? "the branches share modules (see shared-storage): give each branch its own with `copy.deepcopy(...)`"
                : "feed each branch from the trunk only, not from another branch's tensors",
            storageIDs: edges.storages.sorted().map(StorageID.init))
    }
}

/// `prefix.child` for a name under `prefix`: the top-level module of a branch that a name lies in.
func topModule(_ name: String, under prefix: String) -> String {
    guard modulePath(name, isWithin: prefix), name.count > prefix.count else { return name }
    let rest = prefix.isEmpty ? Substring(name) : name.dropFirst(prefix.count + 1)
    guard let component = rest.split(separator: ".").first else { return prefix }
    return prefix.isEmpty ? String(component) : "\(prefix).\(component)"
}
