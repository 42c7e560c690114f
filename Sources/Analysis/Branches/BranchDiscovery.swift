import GraphIR

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
        guard let moved = InPlaceWrites.attributed(graph) else { return discover(tree: graph) }
        return InPlaceWrites.restoringTrunk(discover(tree: moved), original: graph, moved: moved)
    }

    /// `graph`: the trace with its ops at the call sites discovery reads them at (`InPlaceWrites`).
    private static func discover(tree graph: Graph) -> Discovery {
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
        guard found.branches.count < 2 || Self.lostResultFeedsABranch(results(of: found.branches, graph, terminals.own), graph, terminals),
              let stopped = terminals.stoppingAtResults(graph) else { return found }
        let again = discover(graph, stopped)
        guard again.branches.count >= 2 else { return found }
        // With no heads found first, parts that only follow one another are no heads either: a VAE's decoder
        // reads nothing but the code its encoder returns (`dec(mu + eps * exp(logvar / 2))`, mu and logvar
        // returned), a stage after it. A head that reads another's result reads the trunk's output too.
        guard found.branches.count >= 2 else { return Self.oneFollowsAnother(again, graph) ? found : again }
        let (before, after) = (results(of: found.branches, graph, stopped.reach), results(of: again.branches, graph, stopped.reach))
        let parents = Set(found.names.map { ModulePath.parent(of: $0) })
        let beside = again.names.allSatisfy { found.names.contains($0) || parents.contains(ModulePath.parent(of: $0)) }
        return Self.extends(again, found) && beside && after & before == before && after != before ? again : found
    }

    /// Whether each branch of `found` is one of `again` or lies inside a different one of them: Mask R-CNN's box
    /// predictor's `bbox_pred`, beside the mask head while the class scores the mask head reads were taken for
    /// trunk, is inside the box branch (box pooling, head and predictor) found with each result reaching itself.
    static func extends(_ again: Discovery, _ found: Discovery) -> Bool {
        if Set(found.names).isSubset(of: again.names) { return true }
        let holders = found.branches.map { branch in
            again.branches.firstIndex { a in branch.prefixes.allSatisfy { p in a.prefixes.contains { modulePath(p, isWithin: $0) } } }
        }
        return holders.allSatisfy { $0 != nil } && Set(holders.compactMap { $0 }).count == found.branches.count
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

    /// Whether the holder's own forward, or a module inside it that is none of the heads, computes with the results
    /// of two of the heads it holds: then they are parts of its one result (OWL-ViT's class head scores its
    /// projection against the queries and scales the scores by a learned scale: two learned parts, one result; a
    /// LoRA layer at a head's end adds its low-rank path to its frozen base), not heads of their own.
    /// `held`: the map of the heads the holder holds. `nearest`: the results an op computes with are those of the
    /// nearest heads' ops upstream of it, so a head that read another's result (a leak, which the rules report)
    /// still hands the holder one result (Mask R-CNN's `roi_heads` scoring the mask logits into their loss); else
    /// every head upstream counts (a decoder holding its heads computes with them all through its layers).
    static func joinsInside(_ held: BranchMap, holder: String, _ graph: Graph, nearest byNearest: Bool = false) -> Bool {
        func inside(_ module: String) -> Bool { modulePath(module, isWithin: holder) && held.branch(of: module) == nil }
        guard byNearest else { return graph.nodes.indices.contains { inside(graph.nodes[$0].module) && held.ancestry[$0].count >= 2 } }
        var nearest = [BranchSet](repeating: BranchSet(), count: graph.nodes.count)
        for n in graph.nodes.indices {
            if let b = held.branch(of: graph.nodes[n].module) {
                nearest[n] = BranchSet(b)
                continue
            }
            graph.forEachGradientValue(of: n) { v in
                if let p = graph[v].producer { nearest[n].formUnion(nearest[p.index]) }
            }
            if inside(graph.nodes[n].module) && nearest[n].count >= 2 { return true }
        }
        return false
    }

    /// Whether every parameter named under `holder` is named under a branch of `level`, a level inside it: the
    /// holder has no body of its own between the trunk and those heads.
    static func holdsOnly(_ level: Level, within holder: String, _ graph: Graph) -> Bool {
        let prefixes = level.branches.flatMap(\.prefixes)
        return graph.storages.allSatisfy { s in
            s.kind != .parameter || !s.names.contains { n in modulePath(n, isWithin: holder) && !prefixes.contains { modulePath(n, isWithin: $0) } }
        }
    }

    /// Whether the branches of `level` are copies of one head: the same shapes of parameters named under each (a
    /// decoder's per-layer box heads in a ModuleList).
    static func copies(_ level: Level, _ graph: Graph) -> Bool {
        let shapes = level.branches.map { branch in
            graph.storages.filter { s in s.kind == .parameter && s.names.contains { n in branch.prefixes.contains { modulePath(n, isWithin: $0) } } }
                .map { ($0.shape ?? []).map(String.init).joined(separator: "x") }.sorted()
        }
        return Set(shapes).count == 1
    }

    /// Whether branch `b` is a module of the same class as another branch of `level` (both known by one prefix
    /// and a recorded type). torch's containers are of one class whatever they hold, so they say nothing.
    static func sameClassAsAnother(_ b: Int, in level: Level, _ types: [String: String]) -> Bool {
        guard level.branches[b].prefixes.count == 1, let type = types[level.branches[b].prefixes[0]], !type.isEmpty,
              !["Sequential", "ModuleList", "ModuleDict"].contains(type)
        else { return false }
        return level.branches.indices.contains { o in
            o != b && level.branches[o].prefixes.count == 1 && types[level.branches[o].prefixes[0]] == type
        }
    }

    /// Whether the heads of `held` are one module object: every tensor any of them names, all of them name.
    static func oneObject(_ held: BranchMap, _ graph: Graph) -> Bool {
        let named = graph.storageIDs.filter { !held.namedIn[$0.index].isEmpty }
        return !named.isEmpty && named.allSatisfy { held.namedIn[$0.index].count == held.branches.count }
    }

    /// Whether a branch reads, from outside itself, only what one other branch alone made (model inputs and
    /// constants aside).
    static func oneFollowsAnother(_ found: Discovery, _ graph: Graph) -> Bool {
        let prefixes = found.branches.map(\.prefixes)
        var owner = [Int](repeating: -1, count: graph.nodes.count)
        var members = [[Int]](repeating: [], count: prefixes.count)
        for n in graph.nodes.indices {
            guard let b = BranchMap.branch(of: graph.nodes[n].module, in: prefixes) else { continue }
            owner[n] = b
            members[b].append(n)
        }
        return members.indices.contains { first in
            let origin = Origins(graph, from: members[first])
            return members.indices.contains { $0 != first && origin.feedsAll(of: members[$0], child: $0, owner: owner, graph) }
        }
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
        // Heads taken from inside a branch that holds them, with the level they are children of.
        var opened: [(branch: String, parent: String)] = []
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
                      inner.covered == best.reach[b], best.branches.count + inner.branches.count <= BranchSet.capacity + 1,
                      !feedOneAnother(inner, graph, tree),
                      trains(from: [inner.parent], into: best.branches.indices.filter { $0 != b }.flatMap { best.branches[$0].prefixes }, graph, tree)
                else { continue }
                best.replace(b, with: inner)
                opened += inner.branches.map { ($0.name, inner.parent) }
                found.removeAll { $0.parent == inner.parent }
                found[0] = best
                break
            }
        }
        // A head holding heads beside another head (`heads = nn.ModuleDict({"a": …, "b": …})` and `c`; LXMERT's
        // `cls` with its MLM and NSP heads beside `answer_head`) is the heads it holds, each reaching results of
        // its own, so that a leak or a layer shared between two of them shows between branches, not inside one.
        // Only where it is the one branch with heads inside: branches that all hold some are peers at their own
        // level (DETR's per-layer class and box heads, two ModuleLists whose entries pair up by layer; tasks
        // with a main and an auxiliary output each). And not when its heads are one module object in every
        // slot (`ModuleList([expert] * 4)` beside a router; a class head shared across decoder layers on
        // purpose): whether those are heads is not in the graph, which the report then says.
        let holders = best.branches.indices.compactMap { b -> (Int, Level)? in
            guard best.branches[b].prefixes.count == 1 else { return nil }
            let prefix = best.branches[b].prefixes[0]
            return (found.dropFirst() + lone).first { modulePath($0.parent, isWithin: prefix) }.map { (b, $0) }
        }
        func opens(_ b: Int, _ inner: Level, size: Int, nearest: Bool = false) -> Bool {
            guard inner.branches.count >= 2, inner.covered == best.reach[b], size + inner.branches.count <= BranchSet.capacity + 1 else { return false }
            let held = BranchMap(graph: graph, branches: inner.branches)
            return !joinsInside(held, holder: best.branches[b].prefixes[0], graph, nearest: nearest) && !oneObject(held, graph)
        }
        // Of several such holders, each is opened when it only holds heads of different kinds: nothing inside it
        // feeds them all, and they are neither copies of one head nor stages of one (a hidden and an output layer).
        // Mask R-CNN trained on its losses: `roi_heads` holds the box and mask heads beside the `rpn`, whose own
        // head computes its two outputs from one conv and stays one.
        // The one holder is not opened when it is of the same class as another branch (a cascade's last stage
        // returning its class and box outputs apart, the stages before it only their classes): its outputs are what
        // the forward chose to return, and opening it would make its body, which an alias may share, trunk.
        var open: [(Int, Level)] = []
        var size = best.branches.count
        for (b, inner) in holders {
            let takes = holders.count == 1
                ? !sameClassAsAnother(b, in: best, graph.moduleTypes()) && opens(b, inner, size: size)
                : inner.trunk.isEmpty && holdsOnly(inner, within: best.branches[b].prefixes[0], graph) && !copies(inner, graph)
                    && !feedOneAnother(inner, graph, tree, exceptPeers: terminals.learns) && opens(b, inner, size: size, nearest: true)
            guard takes else { continue }
            open.append((b, inner))
            size += inner.branches.count - 1
        }
        for (b, inner) in open.reversed() {
            best.replace(b, with: inner)
            opened += inner.branches.map { ($0.name, inner.parent) }
            found.removeAll { $0.parent == inner.parent }
            found[0] = best
        }
        // Heads that feed one another are a pipeline's stages when another level splits the same results
        // into heads that do not (a U-Net's decoder stages beside the 1x1 head each stage's output feeds) — not
        // when they read one another as peers, each reading what the other reads: heads applied at every level of a
        // feature pyramid, one reading the other's result at the level before (a leak), stay the heads.
        if feedOneAnother(best, graph, tree, exceptPeers: terminals.learns),
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
        result.elsewhere = opened.filter { branch in best.branches.contains { $0.name == branch.branch } }
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
        for b in InputStages.find(result.branches, graph, terminals).reversed() {
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
        if let read = towerResultReadInside(result, graph, terminals) {
            result.towerResultRead = read
            if read.bySlot { result.branches = branches(read.suggested, named: result.branches) }
        }
        return result
    }

    /// `suggested` as branches, each named after the branch of `named` whose name it holds, or its first module.
    static func branches(_ suggested: [[String]], named: [Branch]) -> [Branch] {
        suggested.map { prefixes in Branch(name: named.first { prefixes.contains($0.name) }?.name ?? prefixes[0], prefixes: prefixes) }
    }

    /// Towers (`Towers`) beside the heads, where a head holding one tower reads another tower that returns a result
    /// of its own — its result, taken for an intermediate of the head (the tower for its stage, as OWL-ViT's text
    /// tower is its class head's, whose token ids are no tower's input), or its encoder's features, taken for a trunk
    /// — while that head's tower returns none: the read tower's modules lie in the reader's branch or the trunk. The
    /// tower's head reading another tower (a leak) or a fusion meant to read it (`TowerResultRead`).
    static func towerResultReadInside(_ found: Discovery, _ graph: Graph, _ terminals: Terminals) -> TowerResultRead? {
        guard let towers = Towers.find(graph, learns: terminals.learns), let read = towers.resultRead, let reader = read.reader else { return nil }
        func holds(_ prefixes: [String], _ module: String) -> Bool { prefixes.contains { modulePath(module, isWithin: $0) || modulePath($0, isWithin: module) } }
        guard let readers = found.branches.first(where: { holds($0.prefixes, reader) }) else { return nil }
        let returned = towers.branches[read.returned].prefixes
        guard returned.contains(where: { holds(readers.prefixes, $0) || holds(found.trunk, $0) }) else { return nil }
        return read.named(towers.branches)
    }

    /// No heads: the towers one input each feeds, when the model has them.
    static func withTowers(_ result: Discovery, _ graph: Graph, _ terminals: Terminals) -> Discovery {
        guard let towers = Towers.find(graph, learns: terminals.learns) else { return result }
        var result = result
        result.parent = towers.parent
        result.branches = towers.branches
        result.towerInputs = towers.inputs
        result.towerResultRead = towers.resultRead?.named(towers.branches)
        if let read = result.towerResultRead, read.bySlot { result.branches = branches(read.suggested, named: towers.branches) }
        return result
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
}
