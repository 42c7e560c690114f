import GraphIR
import OrderedCollections

extension BranchDiscovery {
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
        // So does a sibling reaching results of its own besides some this child reaches, and this child results it
        // does not: two holders of heads with a leak from one's head into the other's (`seg.heads.cls` read by
        // `text.heads.mask`).
        func across(_ d: Int, _ c: Int) -> Bool { reach[d] & reach[c] != 0 && reach[d] & ~reach[c] != 0 && reach[c] & ~reach[d] != 0 }
        var own = reach
        for c in children.indices where !trunk[c] {
            let fewer = children.indices.filter { mutual ? $0 != c : !trunk[$0] && (strictlyFewer($0, than: c) || across($0, c)) }
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
