import GraphIR

/// The module tree as the ops' call sites give it, with the terminals each subtree reaches. Paths are
/// interned once (a million-op trace has as many module paths), parents before their children.
struct ModuleReach {
    private var index: [String: Int] = ["": 0]
    private var paths: [String] = [""]
    private var parent: [Int] = [-1]
    private var depth: [Int] = [0]
    private var mask: [UInt64] = [0]
    private var childIndices: [[Int]] = [[]]
    private var runsOps: [Bool] = [false]  // some op's call site is this very module (it has a forward of its own)
    private var narrower: [Bool] = []  // some op under the module reaches some of its results, not all
    private let types: [String: String]

    init(_ graph: Graph, _ terminals: Terminals) {
        var types: [String: String] = [:]  // the module table only: walking every op's type costs a pass over a million ops
        for module in graph.modules where types[module.path] == nil { types[module.path] = module.type }
        self.types = types
        var last = "", lastIndex = 0
        for n in graph.nodes.indices {
            if n == 0 || graph.nodes[n].module != last {
                last = graph.nodes[n].module
                lastIndex = intern(last)
                runsOps[lastIndex] = true
            }
            mask[lastIndex] |= terminals.reach[n]
        }
        for i in stride(from: paths.count - 1, through: 1, by: -1) { mask[parent[i]] |= mask[i] }
        // An op reaching fewer results than its module does reaches fewer than every module holding it.
        narrower = [Bool](repeating: false, count: paths.count)
        var previous: String? = nil
        for n in graph.nodes.indices where terminals.reach[n] != 0 {
            if graph.nodes[n].module != previous { previous = graph.nodes[n].module; lastIndex = index[graph.nodes[n].module]! }
            var i = lastIndex
            while i > 0 && !narrower[i] && mask[i] == terminals.reach[n] { i = parent[i] }
            while i >= 0 && !narrower[i] && mask[i] != terminals.reach[n] { narrower[i] = true; i = parent[i] }
        }
    }

    private mutating func intern(_ path: String) -> Int {
        if let i = index[path] { return i }
        let up = String(ModulePath.parent(of: path) ?? "")
        let p = intern(up)
        let i = paths.count
        index[path] = i
        paths.append(path)
        parent.append(p)
        depth.append(depth[p] + 1)
        mask.append(0)
        childIndices.append([])
        runsOps.append(false)
        childIndices[p].append(i)
        return i
    }

    /// The module whose forward holds `path`'s children together: `path` itself, or for a container without
    /// a forward (an `nn.ModuleList` of gates, stages or a block's sublayers; an `nn.ParameterDict` of per-task
    /// weights) the module holding it; "" for the
    /// model. Where the input does not name module types, a module none of whose ops is its own counts as such
    /// a container.
    func scope(of path: String) -> String {
        var i = index[path] ?? 0
        while i > 0 {
            switch types[paths[i]] {
            case "ModuleList", "ModuleDict", "ParameterList", "ParameterDict": i = parent[i]
            case nil where !runsOps[i]: i = parent[i]
            default: return paths[i]
            }
        }
        return paths[i]
    }

    /// Module paths that have children, shallowest first, then in the order their first op runs.
    /// Only subtrees that reach two or more results can hold heads.
    var parentsByDepth: [String] {
        let candidates = paths.indices.filter { childIndices[$0].count >= 2 && mask[$0].nonzeroBitCount >= 2 }
        return candidates.sorted { (depth[$0], $0) < (depth[$1], $1) }.map { paths[$0] }
    }

    /// The children of `path` that reach a result, in the order their first op runs.
    func children(of path: String) -> [String] {
        guard let i = index[path] else { return [] }
        return childIndices[i].filter { mask[$0] != 0 }.map { paths[$0] }
    }

    func reach(_ path: String) -> UInt64 { index[path].map { mask[$0] } ?? 0 }

    /// The results each of `path`'s children reaches, when two or more reach results and none shares one;
    /// through a module holding only the one that splits (`self.head.classifiers`).
    func splitOneForOne(_ path: String) -> [UInt64]? {
        guard var i = index[path] else { return nil }
        while case let reaching = childIndices[i].filter({ mask[$0] != 0 }), reaching.count == 1 { i = reaching[0] }
        var seen: UInt64 = 0
        var masks: [UInt64] = []
        for c in childIndices[i] where mask[c] != 0 {
            if seen & mask[c] != 0 { return nil }
            seen |= mask[c]
            masks.append(mask[c])
        }
        return masks.count >= 2 ? masks : nil
    }

    /// Whether some op under `path` reaches fewer of the results than the module does.
    func narrows(_ path: String) -> Bool { index[path].map { narrower[$0] } ?? false }

    /// The ops under each of `children`, in node order.
    func members(of children: [String], in graph: Graph) -> [[Int]] {
        var result = [[Int]](repeating: [], count: children.count)
        for index in graph.nodes.indices {
            let module = graph.nodes[index].module
            if let c = children.firstIndex(where: { modulePath(module, isWithin: $0) }) { result[c].append(index) }
        }
        return result
    }
}
