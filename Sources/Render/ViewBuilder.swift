import Analysis
import FormatSupport
import GraphIR

/// Turns a graph (and, optionally, the analyzer's report) into what will be drawn: TensorBoard's view of
/// a model — module scopes as nested clusters labelled `Type[name]`, ops labelled by kind, edges by tensor
/// shape — with modules below the chosen depth collapsed into single boxes.
public enum ViewBuilder {
    public static func build(_ graph: Graph, report: Report? = nil, options: RenderOptions = RenderOptions()) -> ViewGraph {
        var builder = Builder(graph: graph, report: options.showFindings ? report : nil, options: options)
        return builder.build()
    }
}

private struct Builder {
    let graph: Graph
    let report: Report?
    let options: RenderOptions
    let map: BranchMap?
    let types: [String: String]
    /// Ops at or below each module path.
    let opsUnder: [String: Int]
    let maxDepth: Int
    let details: Details
    /// The branches' module prefixes below a container (`fc.0`): a box never holds parts of several branches.
    /// A top-level prefix lies within no box, so the common case scans nothing per op.
    let nestedBranchPrefixes: [String]

    var view = ViewGraph()
    var owner: [String?] = []
    /// Per drawn op: the module of its call site (its cluster may be its branch's, see `drawnHome`).
    var opModule: [Int: String] = [:]
    var region: [Region] = []
    var element: [Int] = []
    var boxes: [String: Int] = [:]
    var storageNode: [Int: Int] = [:]
    /// Edges that carry tensors computed in the forward pass (not parameters or state).
    var dataEdges: [(Int, Int)] = []

    init(graph: Graph, report: Report?, options: RenderOptions) {
        self.graph = graph
        self.report = report
        self.options = options
        map = report.map { $0.branchMap ?? BranchMap(graph: graph, branches: $0.branches) }
        types = graph.moduleTypes()
        var counts: [String: Int] = [:]
        var deepest = 0
        for node in graph.nodes where !node.module.isEmpty {
            var depth = 1
            counts[node.module, default: 0] += 1
            for path in ModulePath.ancestors(of: node.module) {
                counts[String(path), default: 0] += 1
                depth += 1
            }
            deepest = max(deepest, depth)
        }
        opsUnder = counts
        maxDepth = deepest
        details = Details(graph, types: types)
        nestedBranchPrefixes = map.map { $0.prefixes.flatMap { $0 }.filter { ModulePath.parent(of: $0).map { !$0.isEmpty } ?? false } } ?? []
    }

    // MARK: - Depth

    /// In focus mode: the modules findings involve, opened to `depth` while the rest keeps the base depth.
    var focus: (paths: [String], depth: Int?)?

    /// The module an op is folded into at `depth`, or nil when the op is drawn itself.
    func box(for module: String, depth base: Int?) -> String? {
        var depth = base
        if let focus, focus.paths.contains(where: { modulePath(module, isWithin: $0) }) { depth = focus.depth }
        guard let depth, !module.isEmpty else { return nil }
        let components = module.split(separator: ".", omittingEmptySubsequences: false)
        guard components.count >= depth else { return nil }
        var prefix = components.prefix(depth).joined(separator: ".")
        // A container holding a branch's part (`fc` holding `fc.0`, a head's classifier) is drawn open down to
        // that part: one box for several branches' parts would look shared.
        if let part = nestedBranchPrefixes.first(where: { $0 != prefix && modulePath($0, isWithin: prefix) && modulePath(module, isWithin: $0) }) {
            prefix = part
        }
        return opsUnder[prefix, default: 0] >= 2 ? prefix : nil
    }

    func drawnStorages() -> [Int] {
        switch options.parameters {
        case .none: return []
        case .all: return graph.storages.indices.filter { !graph.storages[$0].readers.isEmpty || !graph.storages[$0].writers.isEmpty }
        case .findings:
            var seen = Set<Int>()
            for finding in report?.findings ?? [] { for s in finding.storages { seen.insert(s.id.index) } }
            return seen.sorted()
        }
    }

    /// How many nodes a drawing at `depth` has.
    func nodeCount(depth: Int?, storages: [Int]) -> Int {
        var boxSet = Set<String>()
        var ops = 0
        for node in graph.nodes {
            if let b = box(for: node.module, depth: depth) { boxSet.insert(b) } else { ops += 1 }
        }
        let separateStorages = storages.filter { box(for: parent(graph.storages[$0].names[0]), depth: depth) == nil }.count
        return boxSet.count + ops + separateStorages + graph.inputs.count + graph.outputs.count
    }

    /// How many distinct edges a drawing at `depth` has (between ops and boxes; storage edges estimated
    /// by their count).
    func edgeCount(depth: Int?, storages: [Int]) -> Int {
        var boxKey: [String: Int] = [:]
        var key = [Int](repeating: 0, count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() {
            if let b = box(for: node.module, depth: depth) {
                if boxKey[b] == nil { boxKey[b] = -1 - boxKey.count }
                key[index] = boxKey[b]!
            } else {
                key[index] = index
            }
        }
        var pairs = Set<[Int]>()
        for (index, node) in graph.nodes.enumerated() {
            for v in node.valueInputs {
                if let p = graph[v].producer, key[p.index] != key[index] { pairs.insert([key[p.index], key[index]]) }
            }
        }
        return pairs.count + storages.count
    }

    /// The depth to draw, and (when the request had to be collapsed to stay within the layout limit) how
    /// many nodes the request would have drawn.
    func chooseDepth(_ request: RenderOptions.Depth, storages: [Int]) -> (depth: Int?, collapsedFrom: Int?) {
        // Each count is a pass over every op; a collapsed request asks for the same depth's counts up to
        // three times, so they are kept.
        var nodeCounts: [Int?: Int] = [:], edgeCounts: [Int?: Int] = [:]
        func nodes(_ depth: Int?) -> Int {
            if let known = nodeCounts[depth] { return known }
            let count = nodeCount(depth: depth, storages: storages)
            nodeCounts[depth] = count
            return count
        }
        func edges(_ depth: Int?) -> Int {
            if let known = edgeCounts[depth] { return known }
            let count = edgeCount(depth: depth, storages: storages)
            edgeCounts[depth] = count
            return count
        }
        func fits(_ depth: Int?, _ nodeLimit: Int, _ edgeLimit: Int) -> Bool {
            nodes(depth) <= nodeLimit && edges(depth) <= edgeLimit
        }
        /// The deepest level within the budget (at least 1).
        func deepest(within nodes: Int, _ edges: Int) -> Int? {
            if fits(nil, nodes, edges) { return nil }
            var chosen = 1
            for d in 1..<max(maxDepth, 1) {
                guard fits(d, nodes, edges) else { break }
                chosen = d
            }
            return chosen
        }
        let requested: Int?
        switch request {
        case .auto: return (deepest(within: options.nodeBudget, options.edgeBudget), nil)
        case .full: requested = nil
        case .level(let n): requested = n >= maxDepth ? nil : max(n, 1)
        }
        if fits(requested, options.nodeLimit, options.edgeLimit) { return (requested, nil) }
        return (deepest(within: options.nodeLimit, options.edgeLimit), nodes(requested))
    }

    /// Focus mode: the automatic depth for everything, and the modules the findings involve opened to the
    /// depth asked for. Chosen with `--focus`, and by default when the depth asked for is beyond what the
    /// automatic choice allows (the seed at full depth: 1,105 nodes, a third of them the innocent trunk).
    func chooseFocus(storages: [Int]) -> (base: Int?, paths: [String], depth: Int?)? {
        guard options.focus != false, let report else { return nil }
        let requested: Int?
        switch options.depth {
        case .auto:
            guard options.focus == true else { return nil }
            requested = nil
        case .full: requested = nil
        case .level(let n): requested = n >= maxDepth ? nil : max(n, 1)
        }
        if options.focus == nil {
            let fits = nodeCount(depth: requested, storages: storages) <= options.nodeBudget
                && edgeCount(depth: requested, storages: storages) <= options.edgeBudget
            if fits { return nil }
        }
        var paths: [String] = []
        for finding in report.findings where finding.severity != .info {
            for path in finding.branches + finding.modules + finding.places.map(\.module) where !path.isEmpty && !paths.contains(path) {
                paths.append(path)
            }
        }
        // Only the outermost: a module inside another focused one opens with it.
        paths = paths.filter { path in !paths.contains { $0 != path && modulePath(path, isWithin: $0) } }
        guard !paths.isEmpty else { return nil }
        return (chooseDepth(.auto, storages: []).depth, paths, requested)
    }

    // MARK: - Building

    mutating func build() -> ViewGraph {
        let storages = drawnStorages()
        // The automatic depth is chosen on the ops alone: --params adds to the picture, it does not change it.
        var (depth, collapsedFrom) = chooseDepth(options.depth, storages: options.depth == .auto ? [] : storages)
        if let focused = chooseFocus(storages: storages) {
            focus = (focused.paths, focused.depth)
            // Focus mode too stays within what Graphviz is handed; beyond it, the whole view is collapsed.
            if nodeCount(depth: focused.base, storages: storages) <= options.nodeLimit
                && edgeCount(depth: focused.base, storages: storages) <= options.edgeLimit
            {
                (depth, collapsedFrom) = (focused.base, nil)
                view.focus = focused.paths
                view.focusDepth = focused.depth
            } else {
                focus = nil
            }
        }
        view.depth = depth
        view.collapsedFrom = collapsedFrom

        var inputNode: [ValueID: Int] = [:]
        for input in graph.inputs {
            inputNode[input] = add(.input, ["input", shapeText(graph[input].shape) ?? "?"], owner: nil, region: .trunk)
            view.nodes[inputNode[input]!].tooltip = ["model input: " + details.tensor(input)]
        }
        var regionsOfBox: [Int: Set<Region>] = [:]
        var boxContents: [Int: (ops: Int, parameters: Set<Int>)] = [:]
        let folded = shapeArithmetic()
        view.foldedShapeOps = folded.filter { $0 }.count
        for (index, node) in graph.nodes.enumerated() {
            let r = map?.region[index] ?? .trunk
            if folded[index] {
                element.append(-1)
            } else if let path = box(for: node.module, depth: depth) {
                if let existing = boxes[path] {
                    element.append(existing)
                } else {
                    let id = add(.box, [], owner: parent(path), region: r)
                    boxes[path] = id
                    element.append(id)
                }
                regionsOfBox[element[index], default: []].insert(r)
                // Every op under a box's module folds into that box, so its contents are counted here.
                var contents = boxContents[element[index]] ?? (0, [])
                contents.ops += 1
                for s in node.storageInputs where graph[s].kind == .parameter { contents.parameters.insert(s.index) }
                boxContents[element[index]] = contents
            } else {
                let home = drawnHome(index, node)
                var lines = [node.drawnName]
                if home != node.module && !node.module.isEmpty { lines.append(displayName(node.module, drawnIn: home)) }
                element.append(add(.op, lines, owner: home, region: r))
                opModule[element[index]] = node.module
                view.nodes[element[index]].tooltip = details.op(index)
            }
        }
        for (id, set) in regionsOfBox { region[id] = set.count == 1 ? set.first! : .trunk }
        for (path, id) in boxes {
            let contents = boxContents[id]!
            view.nodes[id].lines = boxLines(path, ops: contents.ops, parameters: contents.parameters)
            view.nodes[id].tooltip = details.module(path, contents: view.nodes[id].lines[1])
        }
        for s in storages {
            let home = graph.storages[s].names[0]
            if let path = box(for: parent(home), depth: depth), let id = boxes[path] {
                storageNode[s] = id
            } else {
                storageNode[s] = add(.storage, [graph.storages[s].attributeName], owner: parent(home), region: map?.home[s].map(Region.branch) ?? .trunk)
                view.nodes[storageNode[s]!].tooltip = [details.storage(StorageID(s))]
            }
        }
        var outputNodes: [Int] = []
        for output in graph.outputs {
            outputNodes.append(add(.output, ["output", shapeText(graph[output].shape) ?? "?"], owner: nil, region: .trunk))
            view.nodes[outputNodes.last!].tooltip = ["model output: " + details.tensor(output)]
        }
        addEdges(inputNode: inputNode, outputNodes: outputNodes, storages: storages)
        anchorIsolatedOps()
        orderBranches()
        let clusterOf = placeInClusters()
        findBranchBlocks(clusterOf)
        if let report {
            FindingStyle(report: report).apply(
                to: &view, graph: graph, opModule: opModule, boxes: boxes, storageNode: storageNode, clusterOf: clusterOf)
        }
        view.explainEdges()
        return view
    }

    /// The cluster an op is drawn in: its module's, except that a branch's ops written outside the branch's
    /// module (a head's activation, pooling and classifier called from the parent's forward) are drawn in
    /// the branch's cluster, labelled with their own module.
    func drawnHome(_ index: Int, _ node: Node) -> String {
        guard let map, let b = map.region[index].branch, let main = map.prefixes[b].first, !main.isEmpty,
            !modulePath(node.module, isWithin: main)
        else { return node.module }
        return main
    }

    /// Ops that only compute with shapes, folded out of the picture: shape readers (`size`, ONNX `Shape`)
    /// and every op fed only by them with no parameter (`num_to_tensor`, `int`, a `Gather` of a shape),
    /// whose results are at most one-dimensional. The tensor they size is still drawn where it is used.
    func shapeArithmetic() -> [Bool] {
        var folded = [Bool](repeating: false, count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() {
            let small = node.outputs.allSatisfy { (graph[$0].shape?.count ?? 0) <= 1 }
            if node.properties.contains(.readsShape) && small {
                folded[index] = true
            } else if small, !node.valueInputs.isEmpty, !node.readsStorage,
                node.valueInputs.allSatisfy({ graph[$0].producer.map { folded[$0.index] } ?? false })
            {
                folded[index] = true
            }
        }
        return folded
    }

    /// An op's module as seen from the cluster it is drawn in: the scopes below what both share, so a gate
    /// `gates.0` drawn in its task's `towers.0` reads `ModuleList[gates]/Linear[0]`, not a `Linear[0]` that
    /// looks like the tower's own first layer.
    func displayName(_ module: String, drawnIn home: String) -> String {
        let shared = Set(prefixes(home))
        let below = prefixes(module).filter { !shared.contains($0) }
        return below.isEmpty ? displayName(module) : below.map(displayName).joined(separator: "/")
    }

    /// Invisible edges from each branch's first drawn node to the next branch's: where they share a rank
    /// (heads reading the trunk's output do), dot tends to keep them left to right in branch order. dot
    /// does not promise it: a flat edge between clusters is a hint to its crossing minimisation, not a rule
    /// (an anchor per cluster held on one rank did no better).
    mutating func orderBranches() {
        guard let map else { return }
        var first: [Int] = []
        for prefixes in map.prefixes {
            guard let main = prefixes.first, !main.isEmpty,
                let id = owner.indices.first(where: { owner[$0].map { modulePath($0, isWithin: main) } ?? false })
            else { continue }
            first.append(id)
        }
        for (a, b) in zip(first, first.dropFirst()) {
            view.edges.append(ViewGraph.Edge(from: a, to: b, label: nil, kind: .order))
        }
    }

    /// Each branch's cluster (or its one node), when every branch has one and all share a parent.
    mutating func findBranchBlocks(_ clusterOf: [String: Int]) {
        guard let map, map.prefixes.count >= 2 else { return }
        var parentOfCluster: [Int: Int] = [:]
        var parentOfNode: [Int: Int] = [:]
        for (id, cluster) in view.clusters.enumerated() {
            for child in cluster.children { parentOfCluster[child] = id }
            for node in cluster.nodes { parentOfNode[node] = id }
        }
        var blocks: [ViewGraph.Block] = []
        var parents = Set<Int>()
        for prefixes in map.prefixes {
            guard let main = prefixes.first, !main.isEmpty else { return }
            if let c = clusterOf[main] {
                blocks.append(.cluster(c))
                parents.insert(parentOfCluster[c] ?? -1)
                continue
            }
            let members = owner.indices.filter { owner[$0].map { modulePath($0, isWithin: main) } ?? false }
            guard members.count == 1 else { return }
            blocks.append(.node(members[0]))
            parents.insert(parentOfNode[members[0]] ?? -1)
        }
        if parents.count == 1 { view.branchBlocks = blocks }
    }

    mutating func add(_ kind: ViewGraph.NodeKind, _ lines: [String], owner path: String?, region r: Region) -> Int {
        view.nodes.append(ViewGraph.Node(kind: kind, lines: lines))
        owner.append(path.flatMap { $0.isEmpty ? nil : $0 })
        region.append(r)
        return view.nodes.count - 1
    }

    func boxLines(_ path: String, ops: Int, parameters: Set<Int>) -> [String] {
        [displayName(path), "\(ops) ops · \(parameterSummary(parameters.map { graph.storages[$0].shape }))"]
    }

    func displayName(_ path: String) -> String { Render.displayName(path, types) }

    // MARK: - Edges

    mutating func addEdges(inputNode: [ValueID: Int], outputNodes: [Int], storages: [Int]) {
        var order: [[Int]] = []
        var values: [[Int]: [ValueID]] = [:]
        var tensors: [[Int]: Int] = [:]
        func connect(_ from: Int, _ to: Int, value: ValueID?) {
            guard from != to, from >= 0, to >= 0 else { return }
            let key = [from, to]
            if values[key] == nil && tensors[key] == nil { order.append(key) }
            if let value {
                if !(values[key]?.contains(value) ?? false) { values[key, default: []].append(value) }
            } else {
                tensors[key, default: 0] += 1
            }
        }
        for (index, node) in graph.nodes.enumerated() {
            for v in node.valueInputs {
                if let p = graph[v].producer { connect(element[p.index], element[index], value: v) } else if let i = inputNode[v] {
                    connect(i, element[index], value: v)
                }
            }
        }
        for (output, node) in zip(graph.outputs, outputNodes) {
            if let p = graph[output].producer { connect(element[p.index], node, value: output) } else if let i = inputNode[output] {
                connect(i, node, value: output)
            }
        }
        for s in storages {
            guard let from = storageNode[s] else { continue }
            var targets: [Int] = []
            for r in graph.storages[s].readers + graph.storages[s].writers where element[r.index] >= 0 && !targets.contains(element[r.index]) {
                targets.append(element[r.index])
            }
            for t in targets { connect(from, t, value: nil) }
        }
        // Red where the cross-branch evidence has an edge: an op's value or a tensor read by another branch.
        var crossKeys = Set<[Int]>()
        for finding in report?.findings ?? [] {
            for edge in finding.crossBranchDependency?.edges ?? [] {
                let to = element[edge.consumer.index]
                if let p = edge.producer { crossKeys.insert([element[p.index], to]) }
                if let s = edge.storage, let from = storageNode[s.index] { crossKeys.insert([from, to]) }
            }
        }
        for key in order {
            let (from, to) = (key[0], key[1])
            let cross = crossKeys.contains(key)
            var label: String?
            if let list = values[key] {
                label = list.count == 1 ? shapeText(graph[list[0]].shape) : "\(list.count) tensors"
            } else if let count = tensors[key], view.nodes[from].kind == .box {
                label = count == 1 ? "1 tensor" : "\(count) tensors"
            }
            let kind: ViewGraph.EdgeKind =
                switch (cross, values[key] == nil) {
                case (true, false): .crossBranch
                case (true, true): .crossBranchState
                case (false, true): .state
                case (false, false): .data
                }
            var tooltip = values[key].map(details.tensors) ?? []
            if tooltip.isEmpty, let count = tensors[key] { tooltip = ["reads \(plural(count, "parameter or buffer", "parameters or buffers"))"] }
            view.edges.append(ViewGraph.Edge(from: from, to: to, label: label, kind: kind, tooltip: tooltip))
            if values[key] != nil { dataEdges.append((from, to)) }
        }
    }

    /// Ties each op outside the data flow (no tensor in or out drawn: a state update, whose storage, if
    /// drawn, floats too) to the next op of its module (the previous one for the last) with an invisible
    /// edge, so that dot places it beside them instead of in the inputs' rank.
    mutating func anchorIsolatedOps() {
        var connected = [Bool](repeating: false, count: view.nodes.count)
        for (from, to) in dataEdges {
            connected[from] = true
            connected[to] = true
        }
        var opsOf: [String: [Int]] = [:]
        for (id, node) in view.nodes.enumerated() where node.kind == .op {
            if let path = owner[id] { opsOf[path, default: []].append(id) }
        }
        for (id, node) in view.nodes.enumerated() where node.kind == .op && !connected[id] {
            guard let path = owner[id], let siblings = opsOf[path], siblings.count > 1, let i = siblings.firstIndex(of: id) else { continue }
            if i + 1 < siblings.count {
                view.edges.append(ViewGraph.Edge(from: id, to: siblings[i + 1], label: nil, kind: .layout))
            } else {
                view.edges.append(ViewGraph.Edge(from: siblings[i - 1], to: id, label: nil, kind: .layout))
            }
        }
    }

    // MARK: - Clusters

    /// Module scopes become clusters; a scope holding a single node is folded into that node's label,
    /// which keeps dot fast (clusters are what it spends its time on) and the picture uncluttered.
    mutating func placeInClusters() -> [String: Int] {
        var subtreeCount: [String: Int] = [:]
        for path in owner.compactMap({ $0 }) {
            for prefix in prefixes(path) { subtreeCount[prefix, default: 0] += 1 }
        }
        var clusterOf: [String: Int] = [:]
        func cluster(_ path: String) -> Int? {
            guard subtreeCount[path, default: 0] >= 2 else { return nil }
            if let existing = clusterOf[path] { return existing }
            view.clusters.append(ViewGraph.Cluster(label: displayName(path)))
            let id = view.clusters.count - 1
            clusterOf[path] = id
            if let up = prefixes(path).dropLast().last(where: { subtreeCount[$0, default: 0] >= 2 }), let parentID = cluster(up) {
                view.clusters[parentID].children.append(id)
            } else {
                view.rootClusters.append(id)
            }
            return id
        }
        for (id, path) in owner.enumerated() {
            guard let path else { view.rootNodes.append(id); continue }
            if subtreeCount[path, default: 0] < 2, view.nodes[id].kind != .box {
                view.nodes[id].lines.append(displayName(path))
            }
            if let home = prefixes(path).last(where: { subtreeCount[$0, default: 0] >= 2 }), let c = cluster(home) {
                view.clusters[c].nodes.append(id)
            } else {
                view.rootNodes.append(id)
            }
        }
        return clusterOf
    }
}

/// "1.2M params" for the parameters with these shapes; producers that do not know parameter shapes
/// (TensorBoard) still know how many there are.
func parameterSummary(_ shapes: [[Int]?]) -> String {
    guard shapes.allSatisfy({ $0 != nil }) else { return plural(shapes.count, "parameter tensor") }
    let elements = shapes.reduce(0) { $0.addingReportingOverflow(elementCount($1!)).overflow ? Int.max : $0 + elementCount($1!) }
    return "\(abbreviated(elements)) params"
}

extension Node {
    /// An op as pictures name it: its kind, with PyTorch's trailing `_` when it writes in place.
    var drawnName: String { op + (inplace ? "_" : "") }
}

/// How TensorBoard names a module scope: `Type[name]`.
func displayName(_ path: String, _ types: [String: String]) -> String {
    let name = path.split(separator: ".").last.map(String.init) ?? path
    return "\(types[path] ?? "Module")[\(name)]"
}

/// `a`, `a.b`, `a.b.c` for `a.b.c`.
func prefixes(_ path: String) -> [String] {
    var result: [String] = []
    var current = ""
    for component in path.split(separator: ".", omittingEmptySubsequences: false) {
        current = current.isEmpty ? String(component) : current + "." + component
        result.append(current)
    }
    return result
}

/// The module path a tensor name or op path hangs under (`a.b` for `a.b.weight`; "" at the top).
func parent(_ path: String) -> String { String(ModulePath.split(tensor: path).module) }

func shapeText(_ shape: [Int]?) -> String? {
    guard let shape else { return nil }
    return shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "×")
}

func abbreviated(_ n: Int) -> String {
    switch n {
    case ..<1_000: return String(n)
    case ..<1_000_000: return String(format1(Double(n) / 1_000)) + "K"
    default: return String(format1(Double(n) / 1_000_000)) + "M"
    }
}

/// One decimal, without Foundation's locale-dependent formatting.
private func format1(_ x: Double) -> String {
    let tenths = Int((x * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
