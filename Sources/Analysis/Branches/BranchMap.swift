import GraphIR

/// Which branch every op and every storage belongs to, computed once and shared by all rules.
///
/// An op belongs to branch *i* when its module lies under branch *i*'s prefix, or when it lies under no
/// branch and all the data it depends on comes from branch *i* alone (a head's functional ops and
/// classifier, written in the parent's forward). Ops that depend on no branch are the trunk; ops that
/// depend on several are where the branches join. Dependencies follow the gradient: a `.detach()`, an index
/// or mask (integers, booleans) and an operand the op's backward ignores (RoIAlign's boxes) pass values on
/// but no dependency — a head that reads another's detached tensor or its argmax is not tied to it in training.
public struct BranchMap: Sendable {
    /// Branch names (each a module prefix), and every prefix of each branch.
    public let branches: [String]
    public let prefixes: [[String]]
    /// Per node: its branch, the trunk, or a join.
    public let region: [Region]
    /// Per node: the branches whose data it depends on (itself included).
    public let ancestry: [BranchSet]
    /// Per storage: branches with a name under their prefix.
    public let namedIn: [BranchSet]
    /// Per storage: branches whose ops read or write it.
    public let usedBy: [BranchSet]
    /// Per storage: the branch its first name lies under (its "home", where TensorBoard draws it), or nil.
    public let home: [Int?]
    /// Per storage: whether some name of it lies under no branch (the trunk's or the parent's name for it).
    public let namedOutside: [Bool]
    /// Per node: whether its reads of parameters and buffers are its branch's use of them: an op under the
    /// branch's module, or one that is the branch's by the data it reads (in the parent's forward) when backward
    /// runs through it — a VQ-VAE's distances from the encoder's output to the codebook pick codes by argmin,
    /// which ties the codebook to nothing.
    public let readsCount: [Bool]

    public init(graph: Graph, branches: [String]) {
        self.init(graph: graph, branches: branches.map { Branch(name: $0) })
    }

    /// `backward`: `Graph.reachedByBackward`, when the caller has it.
    public init(graph: Graph, branches given: [Branch], backward: [Bool]? = nil) {
        let branches = given.map(\.prefixes)
        self.branches = given.map(\.name)
        self.prefixes = branches
        var region = [Region](repeating: .trunk, count: graph.nodes.count)
        var ancestry = [BranchSet](repeating: BranchSet(), count: graph.nodes.count)
        let merged = MergedComputations.find(in: graph) { BranchMap.branch(of: $0, in: branches) }
        for index in graph.nodes.indices {
            var mask = BranchSet()
            // Nor does an index, a mask or an operand backward sends nothing to (RoIAlign's boxes).
            graph.forEachGradientValue(of: index) { v in
                if let producer = graph.values[v.index].producer { mask.formUnion(ancestry[producer.index]) }
            }
            // A detached value carries no branch's gradient: reading it does not tie two branches in training.
            let detached = graph.nodes[index].properties.contains(.cutsGradient)
            if detached { mask = BranchSet() }
            if let own = BranchMap.branch(of: graph.nodes[index].module, in: branches), !merged[index] {
                region[index] = .branch(own)
                mask.insert(own)
            } else if let only = mask.only {
                region[index] = .branch(only)
            } else if mask.count >= 2 {
                region[index] = .join
            }
            ancestry[index] = detached ? BranchSet() : mask
        }
        var namedIn = [BranchSet](repeating: BranchSet(), count: graph.storages.count)
        var usedBy = [BranchSet](repeating: BranchSet(), count: graph.storages.count)
        var home = [Int?](repeating: nil, count: graph.storages.count)
        var namedOutside = [Bool](repeating: false, count: graph.storages.count)
        let storages = graph.storages
        let reached = backward ?? graph.reachedByBackward()
        let readsCount = graph.nodes.indices.map { index in
            reached[index] || region[index].branch.map { BranchMap.branch(of: graph.nodes[index].module, in: branches) == $0 } == true
        }
        for index in storages.indices {
            let storage = storages[index]
            for (n, name) in storage.names.enumerated() {
                let b = BranchMap.branch(of: name, in: branches)
                if let b { namedIn[index].insert(b) } else { namedOutside[index] = true }
                if n == 0 { home[index] = b }
            }
            for node in storage.readers where readsCount[node.index] { if let b = region[node.index].branch { usedBy[index].insert(b) } }
            for node in storage.writers { if let b = region[node.index].branch { usedBy[index].insert(b) } }
        }
        self.region = region
        self.ancestry = ancestry
        self.namedIn = namedIn
        self.usedBy = usedBy
        self.home = home
        self.namedOutside = namedOutside
        self.readsCount = readsCount
    }

    /// The branch with a prefix that contains `path`; the longest prefix wins when prefixes nest.
    public static func branch(of path: String, in branches: [[String]]) -> Int? {
        var best: Int?
        var bestLength = -1
        for (i, prefixes) in branches.enumerated() {
            for prefix in prefixes where prefix.utf8.count > bestLength && modulePath(path, isWithin: prefix) {
                best = i
                bestLength = prefix.utf8.count
            }
        }
        return best
    }

    /// The branch with a prefix that contains `path`.
    public func branch(of path: String) -> Int? { BranchMap.branch(of: path, in: prefixes) }

    /// Whether a storage one branch names also goes by a name outside every branch: the trunk's, tied into that
    /// branch (a word embedding that is also the LM head's weight), not the branch's own.
    public func tiedFromTrunk(_ s: StorageID) -> Bool { namedIn[s.index].count == 1 && namedOutside[s.index] }

    public func names(_ set: BranchSet) -> [String] { set.map { branches[$0] } }
}
