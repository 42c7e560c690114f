import GraphIR
import OrderedCollections

/// A branch: the module subtrees that compute one head. Its name is the subtree with the most ops (a
/// valid `--branch` prefix); the other members are the head's own siblings (its classifier, its pooling
/// module) that only it reaches its results through.
public struct Branch: Hashable, Sendable {
    public var name: String
    public var prefixes: [String]

    public init(name: String, prefixes: [String]? = nil) {
        self.name = name
        self.prefixes = prefixes ?? [name]
    }
}

/// How the branches were found, for the report: so a wrong pick is visible and `--branch` is one
/// copy-paste away.
public struct Discovery: Sendable {
    public var branches: [Branch]
    /// The module whose children the branches are ("" for the model itself).
    public var parent: String?
    /// How many separate results (terminals) the model's outputs come from.
    public var terminals: Int
    /// Children of `parent` that feed several heads: the trunk at that level.
    public var trunk: [String]
    /// Other levels of the module tree that would also have given two or more branches.
    public var alternatives: [[String]]
    /// Levels whose children reach the same results one for one as the branches do, joined to them (a
    /// multi-gate mixture's `gates.i` with `towers.i`: task i is both).
    public var paired: [String] = []
    /// A level passed over because its parts feed one another while another level splits the same results
    /// into parts that do not: the stages of a pipeline (named so a user who meant them as heads can say so).
    public var stages: [String] = []
    /// Branches found at another level than `parent`, with theirs: a head that alone reaches a result the
    /// others do not (DETR for segmentation: the mask head beside the detector whose class and box heads
    /// are the split).
    public var elsewhere: [(branch: String, parent: String)] = []
    /// Branches that stand for several heads only because the model has more separate results than
    /// discovery tells apart (`Terminals.capacity`): the 64th result on share one mark, so their heads are
    /// grouped into one branch and what lies between them is not compared.
    public var lumped: [Int] = []
    /// Set when the model's results gave no heads and the branches are towers (`Towers`): per branch, the
    /// position of the model input it computes from (the same for towers fed parts of one input).
    public var towerInputs: [Int] = []
    /// Set when the model's results gave no heads and the branches are slots of one container of which only
    /// some ran (`self.heads[task](t)`: the forward calls one per input), taken because a slot that did not
    /// run shares storage with one that did: that much is a fact of the model whichever slot runs.
    public var routed = false

    public var names: [String] { branches.map(\.name) }
    /// The lumped branches by name.
    public var lumpedNames: [String] { lumped.map { branches[$0].name } }

    /// The level a branch was found at when it is not `parent`'s.
    public func otherLevel(of branch: String) -> String? { elsewhere.first { $0.branch == branch }?.parent }
}

/// Finds the heads a model was meant to have from what a sharing bug does not change: the model's
/// results and the module tree. Each head is a set of sibling modules whose ops reach results the other
/// siblings' ops do not; the trunk is the sibling that feeds them.
///
/// A child reaching several results is still a head when, leaving aside the siblings that reach fewer
/// results than it does, it reaches just its own: the head whose intermediate another head reads (the
/// leak the rules then report). It is the trunk when some sibling reaching fewer results reads nothing
/// but what it alone computed (in-place updates keep a tensor's origin: `t += head1(t)` does not make head1 the
/// trunk). Paths that are added back together reach one result and are never heads: a ResNet block's
/// `conv1` and `downsample`, DenseNet's layers, a transformer's attention and MLP.
public enum BranchDiscovery {
    public static func discover(_ graph: Graph) -> Discovery {
        let terminals = Terminals(graph)
        let found = discover(graph, terminals)
        // A result that flows into another head may have had its own head taken for trunk: it lies inside what
        // feeds the other (`aux(f + m.forward_head(f))` beside the model `m` holding that classifier: no heads), or
        // its values go on into a head elsewhere (an extra head reading BERT's MLM logits: the MLM head counted as
        // a stage of a longer computation). Then the heads are looked for again with each result reaching only
        // itself, and taken when they are those found and more, reaching more of the model's results (each
        // reaching only itself: a result the parent post-processes, as FCN upsamples its aux head's, is reached
        // through ops no head holds), each new one beside one found (a sibling module): not a decoder's last
        // layer, whose returned state the heads read.
        let made = results(of: found.branches, graph, terminals.own)
        guard found.branches.count < 2 || Self.lostResultFeedsABranch(made, graph, terminals),
              let stopped = terminals.stoppingAtResults(graph) else { return found }
        let again = discover(graph, stopped)
        guard again.branches.count >= 2 else { return found }
        guard found.branches.count >= 2 else { return again }
        let (before, after) = (results(of: found.branches, graph, stopped.reach), results(of: again.branches, graph, stopped.reach))
        let parents = Set(found.names.map { ModulePath.parent(of: $0) })
        let beside = again.names.allSatisfy { found.names.contains($0) || parents.contains(ModulePath.parent(of: $0)) }
        return Set(found.names).isSubset(of: again.names) && beside && after & before == before && after != before ? again : found
    }

    /// The results the ops of the branches give in `masks` (their own: `Terminals.own`; those they reach).
    static func results(of branches: [Branch], _ graph: Graph, _ masks: [UInt64]) -> UInt64 {
        guard !branches.isEmpty else { return 0 }
        let prefixes = branches.map(\.prefixes)
        var union: UInt64 = 0
        for n in graph.nodes.indices where masks[n] & ~union != 0 && BranchMap.branch(of: graph.nodes[n].module, in: prefixes) != nil {
            union |= masks[n]
        }
        return union
    }

    /// Whether a result no branch makes flows into one a branch makes.
    static func lostResultFeedsABranch(_ made: UInt64, _ graph: Graph, _ terminals: Terminals) -> Bool {
        graph.nodes.indices.contains { terminals.own[$0] & ~made != 0 && terminals.reach[$0] & made != 0 }
    }

    static func discover(_ graph: Graph, _ terminals: Terminals) -> Discovery {
        let none = Discovery(branches: [], parent: nil, terminals: terminals.count, trunk: [], alternatives: [])
        var result = none
        guard terminals.count >= 2 else { return withTowers(result, graph, terminals) }
        let tree = ModuleReach(graph, terminals)
        var found: [Level] = []
        var lone: [Level] = []
        for parent in tree.parentsByDepth {
            let children = tree.children(of: parent)
            guard children.count >= 2 else { continue }
            // Children that all reach every result are heads only when each reaches its own results other
            // than through the others (heads that read each other's intermediates); an op reaching fewer
            // results than its module is the cheap sign, checked before any pass over the graph.
            let mutual = Set(children.map(tree.reach)).count == 1
            guard !mutual || children.filter(tree.narrows).count >= 2 else { continue }
            let level = split(parent, children, tree, graph, terminals, mutual: mutual)
            if level.branches.count >= 2 { found.append(level) } else if level.branches.count == 1 { lone.append(level) }
            if found.count > 3 { break }
        }
        // No level with two heads: heads may still fork at different depths, each alone at its level (a value
        // head reading the policy network's hidden layer, `value(policy[:-1](x))`, beside `policy[-1]`); the
        // shallowest is taken, and the others join it below when they reach other results.
        if found.isEmpty, lone.count >= 2 { found.append(lone.removeFirst()) }
        guard var best = found.first else { return withTowers(result, graph, terminals) }
        // A head holding heads of its own, each reaching its own results, is those heads when what it computes
        // flows, with its gradient, into a sibling of it: `heads["a"]`, `heads["b"]` of a ModuleDict beside `c`,
        // which reads `heads.a`'s result. Else the level inside would pass for the heads the pipeline below
        // feeds, `c` be lost and the leak pass.
        if feedOneAnother(best, graph, tree) {
            for inner in found.dropFirst() {
                guard let b = best.branches.firstIndex(where: { $0.prefixes == [inner.parent] }),
                      inner.covered == best.reach[b], !feedOneAnother(inner, graph, tree),
                      trains(from: [inner.parent], into: best.branches.indices.filter { $0 != b }.flatMap { best.branches[$0].prefixes }, graph, tree)
                else { continue }
                best.replace(b, with: inner)
                found.removeAll { $0.parent == inner.parent }
                found[0] = best
                break
            }
        }
        // Heads that feed one another are a pipeline's stages when another level splits the same results
        // into heads that do not (a U-Net's decoder stages beside the 1x1 head each stage's output feeds).
        if feedOneAnother(best, graph, tree),
           let clean = found.dropFirst().first(where: { level in
               level.branches.count >= best.branches.count && level.covered & best.covered == best.covered
                   && !feedOneAnother(level, graph, tree)
           }) {
            result.stages = best.branches.map(\.name)
            found.removeAll { $0.parent == clean.parent }
            found.insert(clean, at: 0)
            best = clean
        }
        // A level whose children reach the same results one for one is part of the same heads; so is one whose
        // children reach the same results of their own, when neither level's parts feed one another but as
        // peers do (a leak from a body into the next head, not a pipeline's stages).
        lazy var bestFeedsItself = feedOneAnother(best, graph, tree, exceptPeers: terminals.learns)
        for other in found.dropFirst() {
            let leaky = best.own != best.reach || other.own != other.reach
            guard let pairs = best.pairing(with: other)
                ?? (leaky && !bestFeedsItself && !feedOneAnother(other, graph, tree, exceptPeers: terminals.learns)
                    ? best.pairing(with: other, byOwn: true) : nil)
            else { continue }
            // The larger part names the branch and comes first (a picture draws the branch's ops in its first
            // prefix's cluster).
            for (b, o) in pairs.enumerated() {
                if other.sizes[o] > best.sizes[b] {
                    best.branches[b] = Branch(name: other.branches[o].name, prefixes: other.branches[o].prefixes + best.branches[b].prefixes)
                    best.sizes[b] = other.sizes[o]
                } else {
                    best.branches[b].prefixes += other.branches[o].prefixes
                }
            }
            result.paired.append(other.parent)
        }
        result.branches = best.branches
        result.parent = best.parent
        if terminals.count > Terminals.capacity {
            let last = UInt64(1) << UInt64(Terminals.capacity - 1)
            result.lumped = best.branches.indices.filter { best.reach[$0] & last != 0 && best.branches[$0].prefixes.count > 1 }
        }
        // A container whose children were paired into the heads (`bodies` of `bodies.0` with `cls1`) is not trunk.
        result.trunk = best.trunk.filter { t in !best.branches.contains { $0.prefixes.contains { modulePath($0, isWithin: t) } } }
        result.alternatives = found.dropFirst().filter { !result.paired.contains($0.parent) }.map { $0.branches.map(\.name) }
        // A head at another level that reaches only results none of these reach is a head too, when some
        // output is made without them: DETR's mask head returns masks of its own, while DAB-DETR's reference
        // boxes, refined in the decoder, reach the model's boxes only added into the box head's offsets.
        var covered = best.reach.reduce(UInt64(0), |)
        let outputs = lone.isEmpty ? [] : terminals.perOutput(graph)
        for level in lone where level.reach[0] & covered == 0 && result.branches.count < BranchSet.capacity
            && outputs.contains(where: { $0 & level.reach[0] != 0 && $0 & covered == 0 }) {
            result.branches.append(level.branches[0])
            result.elsewhere.append((level.branches[0].name, level.parent))
            covered |= level.reach[0]
        }
        // An encoder of an input only a head reads (OWL-ViT's text tower) is that head's input stage.
        for b in InputStages.find(result.branches, graph).reversed() {
            let stage = result.branches.remove(at: b)
            result.elsewhere.removeAll { $0.branch == stage.name }
            result.lumped = result.lumped.filter { $0 != b }.map { $0 > b ? $0 - 1 : $0 }
            result.trunk += stage.prefixes.filter { p in !result.trunk.contains { modulePath(p, isWithin: $0) } }
        }
        guard result.branches.count >= 2 else { return withTowers(none, graph, terminals) }
        // A trunk module holding a head found at its own level is that level's trunk (`actor` is `actor.0`, `actor.1`
        // beside the head `actor.2`).
        let inner = lone.filter { level in result.elsewhere.contains { $0.parent == level.parent } }
        result.trunk = result.trunk.flatMap { t in
            let within = inner.filter { modulePath($0.parent, isWithin: t) }
            return within.isEmpty ? [t] : within.flatMap(\.trunk)
        }
        return result
    }

    /// No heads: the towers one input each feeds, when the model has them.
    static func withTowers(_ result: Discovery, _ graph: Graph, _ terminals: Terminals) -> Discovery {
        guard let towers = Towers.find(graph, learns: terminals.learns) else { return result }
        var result = result
        result.parent = towers.parent
        result.branches = towers.branches
        result.towerInputs = towers.inputs
        return result
    }

    /// One level's split: its heads with the results each reaches, and its trunk.
    struct Level {
        var parent: String
        var branches: [Branch]
        var reach: [UInt64]
        var trunk: [String]
        /// Ops under each branch's named member.
        var sizes: [Int] = []
        /// The results each branch reaches other than through the others (its reach but for a leak).
        var own: [UInt64] = []

        var covered: UInt64 { reach.reduce(0, |) }

        /// Branch `b` replaced by the branches of `inner`, a level inside it, in its place.
        mutating func replace(_ b: Int, with inner: Level) {
            branches.replaceSubrange(b...b, with: inner.branches)
            reach.replaceSubrange(b...b, with: inner.reach)
            sizes.replaceSubrange(b...b, with: inner.sizes)
            own.replaceSubrange(b...b, with: inner.own)
            trunk += inner.trunk
        }

        /// For each branch, the branch of `other` that reaches exactly the same results, when every branch has
        /// one; `byOwn`: the same results of its own (a leak from one body into another head's classifier does
        /// not unpair them).
        func pairing(with other: Level, byOwn: Bool = false) -> [Int]? {
            let (mine, theirs) = byOwn ? (own, other.own) : (reach, other.reach)
            guard other.branches.count == branches.count, Set(mine).count == mine.count else { return nil }
            let pairs = mine.compactMap { mask in theirs.firstIndex(of: mask) }
            return pairs.count == mine.count ? pairs : nil
        }
    }

    /// Whether some branch's ops read a value another branch computed, directly or through any other ops.
    /// With `exceptPeers` (which ops learn): unless the reader also reads what the other branch reads, mixed
    /// in by the parent (`branches[1](t + branches[0](t))`): a leak between heads side by side, not a
    /// pipeline's next stage, which reads only what the stage before it made (and skips from elsewhere).
    static func feedOneAnother(_ level: Level, _ graph: Graph, _ tree: ModuleReach, exceptPeers learns: [Bool]? = nil) -> Bool {
        let prefixes = level.branches.enumerated().flatMap { b, branch in branch.prefixes.map { (b, $0) } }
        var owner = [Int](repeating: -1, count: graph.nodes.count)
        var ops = [[Int]](repeating: [], count: level.branches.count)
        for (i, members) in tree.members(of: prefixes.map(\.1), in: graph).enumerated() {
            for n in members { owner[n] = prefixes[i].0 }
            ops[prefixes[i].0] += members
        }
        lazy var reads = ops.indices.map { entries(ops[$0], $0, owner, graph) }
        func peers(_ a: Int, _ b: Int) -> Bool {
            guard let learns, !reads[a].isEmpty else { return false }
            return reads[a].isSubset(of: sources(of: reads[b], owner, graph, learns))
        }
        var upstream = [UInt64](repeating: 0, count: graph.nodes.count)
        for n in graph.nodes.indices {
            var from: UInt64 = 0
            for v in graph.nodes[n].valueInputs {
                guard let p = graph[v].producer else { continue }
                from |= upstream[p.index] | (owner[p.index] >= 0 ? UInt64(1) << UInt64(owner[p.index]) : 0)
            }
            if owner[n] >= 0 {
                let others = from & ~(UInt64(1) << UInt64(owner[n]))
                if others != 0, (0..<level.branches.count).contains(where: { others & (UInt64(1) << UInt64($0)) != 0 && !peers($0, owner[n]) }) {
                    return true
                }
            }
            upstream[n] = from
        }
        return false
    }

    /// Whether a value ops under `from` compute flows, through ops that pass its gradient on, into an op under
    /// `into`.
    static func trains(from: [String], into: [String], _ graph: Graph, _ tree: ModuleReach) -> Bool {
        let members = tree.members(of: from + into, in: graph)
        var side = [Int8](repeating: 0, count: graph.nodes.count)  // 1: under `from`, 2: under `into`
        for (i, ops) in members.enumerated() { for n in ops { side[n] = i < from.count ? 1 : 2 } }
        var carries = [Bool](repeating: false, count: graph.values.count)
        for n in graph.nodes.indices {
            var reads = false
            graph.forEachGradientValue(of: n) { v in if carries[v.index] { reads = true } }
            if reads && side[n] == 2 { return true }
            guard side[n] == 1 || reads else { continue }
            for v in graph.nodes[n].outputs where graph.carriesGradient(v) { carries[v.index] = true }
        }
        return false
    }

    /// The heads among `children` of `parent` (a level gives branches when it has two or more).
    /// `mutual`: every child reaches every result, so a head's own results are those it reaches other than
    /// through all its siblings (two heads that each read the other's intermediate; cross-stitch columns).
    static func split(_ parent: String, _ children: [String], _ tree: ModuleReach, _ graph: Graph, _ terminals: Terminals,
                      mutual: Bool = false) -> Level {
        var members = tree.members(of: children, in: graph)
        if graph.storageIdentity == .name {
            // A computation the exporter merged across siblings says nothing about the one it is named after.
            let merged = MergedComputations.find(in: graph) { module in children.firstIndex { modulePath(module, isWithin: $0) } }
            members = members.map { $0.filter { !merged[$0] } }
        }
        let reach = members.map { $0.reduce(UInt64(0)) { $0 | terminals.reach[$1] } }
        var owner = [Int](repeating: -1, count: graph.nodes.count)
        for (c, ops) in members.enumerated() { for n in ops { owner[n] = c } }
        func strictlyFewer(_ d: Int, than c: Int) -> Bool { reach[d] != reach[c] && reach[d] & ~reach[c] == 0 }
        // The trunk: a child that computes everything some sibling reaching fewer results reads (`fed`: those
        // siblings).
        var trunk = [Bool](repeating: false, count: children.count)
        var fed = [[Int]](repeating: [], count: children.count)
        for c in children.indices {
            let fewer = children.indices.filter { strictlyFewer($0, than: c) }
            guard !fewer.isEmpty else { continue }
            let origin = Origins(graph, from: members[c])
            fed[c] = fewer.filter { d in origin.feedsAll(of: members[d], child: d, owner: owner, graph) }
            trunk[c] = !fed[c].isEmpty
        }
        // A child whose values flow on, with their gradient, into learned ops outside the module that runs
        // `parent`'s children (itself, or the one holding a ModuleList) is a stage of a longer computation,
        // not a head: its results are taps on it (a decoder layer's keys and values returned as a cache, read
        // on by its attention and the next layers). Heads end the computation below the module that holds
        // them; what follows them only post-processes (losses, box decoding, averaging) and learns nothing.
        let scope = tree.scope(of: parent)
        if !scope.isEmpty {
            let results = terminals.stopsAtResults ? terminals.own : nil
            for c in children.indices where !trunk[c] && continuesOutside(scope, from: members[c], graph, terminals.learns, stoppingAt: results) {
                trunk[c] = true
            }
        }
        // What each remaining child reaches other than through siblings that reach fewer results, or through
        // what they compute on: the rest of such a sibling's head may lie elsewhere (the bodies in one
        // ModuleList, their classifiers in another: `fcs[1](branches[1](t) + branches[0](t))` reaches result 2
        // through what branches[1] computed). Heads that each read the other's intermediate block only the
        // other's own ops, or neither would keep a result.
        var own = reach
        for c in children.indices where !trunk[c] {
            let fewer = children.indices.filter { mutual ? $0 != c : !trunk[$0] && strictlyFewer($0, than: c) }
            guard !fewer.isEmpty else { continue }
            var blocked = [Bool](repeating: false, count: graph.nodes.count)
            for d in fewer { for n in members[d] { blocked[n] = true } }
            if !mutual, let start = fewer.compactMap({ members[$0].first }).min() {
                for n in start..<graph.nodes.count where !blocked[n] && owner[n] != c {
                    graph.forEachGradientValue(of: n) { v in
                        if let p = graph[v].producer, blocked[p.index] { blocked[n] = true }
                    }
                }
            }
            let avoiding = terminals.reach(graph, avoiding: blocked)
            own[c] = members[c].reduce(0) { $0 | avoiding[$1] }
        }
        // Copies of one stage side by side on one input (peers), as many as the results they reach, each reaching
        // at least its own: when only one way of giving each copy one result exists, that is the heads, whatever
        // leaks between them (`fc2(b2 + b1)`, `b2(t + b1)`, `fc3(b3 + b2)`: a body read by the next head too, which
        // alone feeds its own head as a trunk would, but runs beside the heads, not before them).
        // Copies run as many ops, so only such groups with one reaching several results are looked at closer; a
        // stage of a longer computation (found above) is none: its results are taps, whatever they number.
        let running: [Int] = children.indices.filter { !members[$0].isEmpty && !(trunk[$0] && fed[$0].isEmpty) }
        let bySize: [Int: [Int]] = Dictionary(grouping: running) { members[$0].count }
        let alike: [[Int]] = bySize.values.filter { group in group.count >= 2 && group.contains { reach[$0].nonzeroBitCount > 1 } }
        for peers in alike.sorted(by: { $0[0] < $1[0] }).flatMap({ peerClasses($0, members, owner, graph, terminals.learns) }) {
            guard let results = matchOneForOne(peers.map { reach[$0] }) else { continue }
            for (c, result) in zip(peers, results) { trunk[c] = false; own[c] = result }
        }
        // A child the trunk reads without reading the trunk is the trunk's input stage, not a head (GPT-2's
        // position embedding added to the token embedding), though with a result per layer (a key-value cache)
        // it reaches results no sibling reaching fewer stands between.
        if trunk.contains(true) {
            for c in children.indices where !trunk[c] && own[c] != 0 && feedsTrunkFromUpstream(c, members, trunk: trunk, owner: owner, graph) {
                trunk[c] = true
            }
        }
        // A child whose values one head computes with while another only scores them into a result feeds both
        // (so it takes three children at least: it and the two heads).
        let open = children.indices.filter { !trunk[$0] && own[$0] != 0 }
        if open.count >= 3 {
            for c in ScoredInputs.find(open, heads: open, members: members, own: own, graph, terminals) { trunk[c] = true }
        }
        // A child whose own children split its results one for one, each as a sibling here does (a ModuleList
        // holding one classifier per head, beside the heads' bodies), holds the other parts of those heads:
        // grouping it here would make every head at this level one. The two levels are paired later.
        let siblings = Set(children.indices.filter { !trunk[$0] }.map { reach[$0] })
        let holdsHeads = children.indices.map { c in
            !trunk[c] && own[c].nonzeroBitCount >= 2 && tree.splitOneForOne(children[c]).map { $0.allSatisfy(siblings.contains) } ?? false
        }
        // Children whose own results overlap are one head.
        var group = Array(children.indices)
        func find(_ x: Int) -> Int { group[x] == x ? x : find(group[x]) }
        let heads = children.indices.filter { !trunk[$0] && own[$0] != 0 && !holdsHeads[$0] }
        for (i, a) in heads.enumerated() {
            for b in heads[(i + 1)...] where own[a] & own[b] != 0 {
                let (ra, rb) = (find(a), find(b))
                if ra != rb { group[max(ra, rb)] = min(ra, rb) }
            }
        }
        var byRoot: OrderedDictionary<Int, [Int]> = [:]
        for h in heads { byRoot[find(h), default: []].append(h) }
        // A head learns: a group of children without a parameter or buffer of its own (a returned activation,
        // a pooling step) is a tap on the trunk, not a head. A parameter counts however the op gets it: under
        // `torch.autocast` one head object called twice reads, the second time, the bfloat16 weight cast
        // during the first call (autocast caches it), so that call site reads no parameter directly.
        let learned = members.map { $0.contains { graph.nodes[$0].readsStorage || terminals.learns[$0] } }
        byRoot.removeAll { !$0.value.contains { learned[$0] } }
        let trunkNames = children.indices.filter { (trunk[$0] || own[$0] == 0) && !holdsHeads[$0] }.map { children[$0] }
        guard byRoot.count <= BranchSet.capacity else { return Level(parent: parent, branches: [], reach: [], trunk: trunkNames) }
        // Heads in the order their first op runs; each named after its largest member that learns (not the
        // RoI pooling a detection head starts with, nor a position encoding it reads).
        let ordered = byRoot.values.map { group -> (first: Int, branch: Branch, reach: UInt64, own: UInt64) in
            let candidates = group.filter { learned[$0] }
            let name = candidates.max { (members[$0].count, $1) < (members[$1].count, $0) }!
            return (group.map { members[$0].first ?? Int.max }.min()!, Branch(name: children[name], prefixes: group.map { children[$0] }),
                    group.reduce(UInt64(0)) { $0 | reach[$1] }, group.reduce(UInt64(0)) { $0 | own[$1] })
        }.sorted { $0.first < $1.first }
        return Level(parent: parent, branches: ordered.map(\.branch), reach: ordered.map(\.reach), trunk: trunkNames,
                     sizes: ordered.map { entry in members[children.firstIndex(of: entry.branch.name)!].count }, own: ordered.map(\.own))
    }
}

/// Children of the same make that compute from one input (each reads what another reads, or made from it by
/// the parent: `t`, `t + b1`), in groups of two or more.
func peerClasses(_ candidates: [Int], _ members: [[Int]], _ owner: [Int], _ graph: Graph, _ learns: [Bool]) -> [[Int]] {
    var classes: [[Int]] = []
    var reads: [Int: Set<Int>] = [:]
    var from: [Int: Set<Int>] = [:]
    for c in candidates {
        reads[c] = entries(members[c], c, owner, graph)
        from[c] = sources(of: reads[c]!, owner, graph, learns)
    }
    func peers(_ a: Int, _ b: Int) -> Bool {
        !reads[a]!.isEmpty && !reads[b]!.isEmpty && (reads[a]!.isSubset(of: from[b]!) || reads[b]!.isSubset(of: from[a]!))
    }
    for c in candidates {
        if let k = classes.firstIndex(where: { $0.allSatisfy { peers($0, c) } && sameMake(members[$0[0]], members[c], graph) }) {
            classes[k].append(c)
        } else {
            classes.append([c])
        }
    }
    return classes.filter { $0.count >= 2 }
}

/// One result each for `masks` (what each peer reaches), when they reach as many results as there are peers,
/// some reaches more than one, and exactly one assignment gives each peer a result it reaches (found by taking
/// a result only one unassigned peer reaches, again and again).
func matchOneForOne(_ masks: [UInt64]) -> [UInt64]? {
    let all = masks.reduce(0, |)
    guard all.nonzeroBitCount == masks.count, masks.contains(where: { $0.nonzeroBitCount > 1 }) else { return nil }
    var result = [UInt64](repeating: 0, count: masks.count)
    var open = all
    while open != 0 {
        var progress = false
        var rest = open
        while rest != 0 {
            let bit = rest & (~rest &+ 1)
            rest &= ~bit
            let takers = masks.indices.filter { result[$0] == 0 && masks[$0] & bit != 0 }
            if takers.count == 1 { result[takers[0]] = bit; open &= ~bit; progress = true }
        }
        if !progress { return nil }
    }
    return result.contains(0) ? nil : result
}

/// Whether two children's ops compute alike: the same ops on weights of the same shapes (copies of one stage).
func sameMake(_ a: [Int], _ b: [Int], _ graph: Graph) -> Bool {
    guard a.count == b.count, !a.isEmpty else { return false }
    return a.map { Terminals.signature(of: $0, graph) }.sorted() == b.map { Terminals.signature(of: $0, graph) }.sorted()
}

/// The values child `child`'s ops read that it did not compute.
func entries(_ ops: [Int], _ child: Int, _ owner: [Int], _ graph: Graph) -> Set<Int> {
    var result = Set<Int>()
    for n in ops {
        for v in graph.nodes[n].valueInputs where graph[v].producer.map({ owner[$0.index] != child }) ?? true { result.insert(v.index) }
    }
    return result
}

/// `values` and what they are made from by the parent's own ops that learn nothing (`t + a`: t and a).
func sources(of values: Set<Int>, _ owner: [Int], _ graph: Graph, _ learns: [Bool]) -> Set<Int> {
    var result = values
    var pending = Array(values)
    while let v = pending.popLast() {
        guard let p = graph.values[v].producer?.index, owner[p] < 0, !learns[p] else { continue }
        for input in graph.nodes[p].valueInputs where result.insert(input.index).inserted { pending.append(input.index) }
    }
    return result
}

/// Whether what `ops` compute reaches, through ops that pass the gradient on, an op outside `parent` that
/// computes with a parameter or buffer. Walks forward from the ops and stops at the first such op, and at the
/// ops that make a result when `results` (each op's results) is given.
func continuesOutside(_ parent: String, from ops: [Int], _ graph: Graph, _ learns: [Bool], stoppingAt results: [UInt64]? = nil) -> Bool {
    var seen = Set<Int>(ops)
    var pending = ops
    while let n = pending.popLast() {
        if let results, results[n] != 0 { continue }
        for v in graph.nodes[n].outputs where graph.carriesGradient(v) {
            for use in graph[v].uses where graph.passesGradient(use.node.index, to: use.index) {
                let next = use.node.index
                guard seen.insert(next).inserted else { continue }
                if learns[next] && !modulePath(graph.nodes[next].module, isWithin: parent) { return true }
                pending.append(next)
            }
        }
    }
    return false
}

/// Whether child `c`'s ops read nothing a trunk child computed, directly or through other ops, while some
/// trunk child's op reads what they computed.
func feedsTrunkFromUpstream(_ c: Int, _ members: [[Int]], trunk: [Bool], owner: [Int], _ graph: Graph) -> Bool {
    // Most children read the trunk, directly or through the parent's own ops (pooling in its forward): found
    // walking back from their inputs, before any scan of the graph.
    var seen = Set<Int>()
    var pending = members[c].flatMap { graph.nodes[$0].valueInputs }
    while let v = pending.popLast() {
        guard let p = graph[v].producer?.index, seen.insert(p).inserted, owner[p] != c else { continue }
        if owner[p] >= 0 && trunk[owner[p]] { return false }
        if owner[p] < 0 { pending.append(contentsOf: graph.nodes[p].valueInputs) }
    }
    var afterTrunk = [Bool](repeating: false, count: graph.values.count)  // made from what a trunk child computed
    var fromChild = [Bool](repeating: false, count: graph.values.count)  // made from what `c` computed
    for n in graph.nodes.indices {
        let inTrunk = owner[n] >= 0 && trunk[owner[n]]
        let readsTrunk = graph.nodes[n].valueInputs.contains { afterTrunk[$0.index] }
        let readsChild = graph.nodes[n].valueInputs.contains { fromChild[$0.index] }
        if owner[n] == c && readsTrunk { return false }
        if inTrunk && readsChild { return true }
        for v in graph.nodes[n].outputs {
            afterTrunk[v.index] = inTrunk || readsTrunk
            fromChild[v.index] = owner[n] == c || readsChild
        }
    }
    return false
}

/// Which values only a set of ops could have made: every path from the model's inputs to them runs
/// through those ops (constants aside). That is what a trunk is to a head, and what a head is not to
/// another head that mixes one of its intermediates with the trunk's output (`head2(t + a)`). An in-place
/// op's result is the tensor it overwrote, so it keeps that tensor's origin (`nn.ReLU(inplace=True)` at
/// the start of a head, or `t += head1(t)`, leaves the trunk's tensor the trunk's). What is made from the
/// model's inputs without a parameter (DETR's sine position embedding of the pixel mask, called from the
/// model's forward outside the detector) is input, which any head may read beside the trunk's output.
/// A parameter counts however the op gets it: read directly, or made from parameters alone first (the
/// bfloat16 copy `torch.autocast` hands a linear, a weight-normed weight).
struct Origins {
    private enum Origin { case elsewhere, dominated, constant, learned, input }
    private var origin: [Origin]

    init(_ graph: Graph, from ops: [Int]) {
        var isMember = [Bool](repeating: false, count: graph.nodes.count)
        for n in ops { isMember[n] = true }
        origin = [Origin](repeating: .elsewhere, count: graph.values.count)
        for v in graph.inputs { origin[v.index] = .input }
        for index in graph.nodes.indices {
            let result: Origin
            if graph.nodes[index].inplace, let target = graph.nodes[index].firstValueInput {
                result = origin[target.index]
            } else if isMember[index] {
                result = .dominated
            } else {
                var any = false, all = true, input = false
                var learned = graph.nodes[index].storageInputs.contains { graph[$0].kind == .parameter }
                for case .value(let v) in graph.nodes[index].inputs {
                    switch origin[v.index] {
                    case .dominated: any = true
                    case .elsewhere: all = false
                    case .input: input = true
                    case .learned: learned = true
                    case .constant: break
                    }
                }
                // A parameter applied to the inputs outside the ops is another computation, not input; buffers
                // applied to them (Llama's rotary tables from the positions) only encode the input.
                result = !all || (input && learned && !any) ? .elsewhere : any ? .dominated : input ? .input : learned ? .learned : .constant
            }
            for v in graph.nodes[index].outputs { origin[v.index] = result }
        }
    }

    /// Whether the ops `reader` (child `child` in `owner`, the child each node lies under) read, from outside
    /// themselves, only values the origin alone made.
    func feedsAll(of reader: [Int], child: Int, owner: [Int], _ graph: Graph) -> Bool {
        var entries = 0
        for n in reader {
            for v in graph.nodes[n].valueInputs {
                if let p = graph[v].producer, owner[p.index] == child { continue }
                switch origin[v.index] {
                case .elsewhere: return false
                case .dominated: entries += 1
                case .constant, .learned, .input: break
                }
            }
        }
        return entries > 0
    }

    /// Whether only the origin's ops could have made `v`.
    func made(_ v: ValueID) -> Bool { origin[v.index] == .dominated }
}

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
