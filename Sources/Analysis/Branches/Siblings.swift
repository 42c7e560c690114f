import GraphIR

// What `BranchDiscovery.split` asks of a level's children: which are copies of one stage, which values they read
// from outside themselves, and where what they compute goes on to.

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
