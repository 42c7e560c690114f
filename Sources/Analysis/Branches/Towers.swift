import GraphIR
import OrderedCollections

/// Branches meant to be independent that no result tells apart: towers, one per input, fused by what follows
/// them (a two-stream network's RGB and optical-flow streams, a multimodal classifier's image and tabular
/// encoders). The model has one result, so no head is found; the towers are the children of the model's
/// forward each of whose learned ops computes from one input alone (or one part of it), a different one for
/// each, when what they compute meets once (`meetOnce`). The inputs
/// are what a bug does not change: one pretrained network assigned to both streams still reads each
/// stream's input under that stream's name.
///
/// One module called on both inputs under one name (a Siamese network) reads both and is no tower; nor is
/// what reads a per-sample number (a diffusion step) or an index (token ids, which carry no gradient).
enum Towers {
    /// The towers, when two or more inputs (or parts of one) each have theirs: branches in the order their
    /// first op runs, with the input (its position among the model's inputs) each computes from.
    static func find(_ graph: Graph, learns: [Bool]) -> (parent: String, branches: [Branch], inputs: [Int], resultRead: ResultRead?)? {
        let sources = sources(graph)
        guard sources.count >= 2, sources.count <= 64 else { return nil }
        var seed = [UInt64](repeating: 0, count: graph.values.count)  // each source's own bit
        for (bit, source) in sources.enumerated() { seed[source.value.index] = 1 << UInt64(bit) }
        var from = seed  // which sources a value is made from
        let parent = ModulePath.common(graph.nodes.lazy.map(\.module))
        let types = graph.moduleTypes()
        // An op learns when it computes with a parameter or buffer, read directly or not (`Terminals.learnedOps`).
        let learned = graph.nodes.indices.map { learns[$0] || graph.nodes[$0].readsStorage }
        // Per child of the forward (or of a container it holds the towers in): the sources its learned ops
        // compute from, its op count, its first op, and whether it has parameters (a tower learns: a
        // child applying only buffers to an input, Llama's rotary tables to the positions, encodes it).
        var children: OrderedDictionary<String, (inputs: UInt64, ops: Int, first: Int, learns: Bool)> = [:]
        var childOf = [Int](repeating: -1, count: graph.nodes.count)  // per op, its child's index in `children`
        for index in graph.nodes.indices {
            let node = graph.nodes[index]
            var read: UInt64 = 0
            for v in node.valueInputs { read |= from[v.index] }
            for v in node.outputs { from[v.index] = seed[v.index] != 0 ? seed[v.index] : read }
            guard node.module != parent, modulePath(node.module, isWithin: parent) else { continue }
            let child = child(of: parent, containing: node.module, types)
            children[child, default: (0, 0, index, false)].ops += 1
            if learned[index] { children[child]!.inputs |= read }
            if node.storageInputs.contains(where: { graph[$0].kind == .parameter }) { children[child]!.learns = true }
            childOf[index] = children.index(forKey: child)!
        }
        // Towers: children whose learned ops read exactly one source, grouped by that source.
        var byInput: OrderedDictionary<UInt64, [String]> = [:]
        for (child, entry) in children where entry.learns && entry.inputs.nonzeroBitCount == 1 {
            byInput[entry.inputs, default: []].append(child)
        }
        guard byInput.count >= 2 else { return nil }
        var towerOfChild = [Int](repeating: -1, count: children.count)
        for (t, members) in byInput.values.enumerated() { for m in members { towerOfChild[children.index(forKey: m)!] = t } }
        let towerOfOp = childOf.map { $0 < 0 ? -1 : towerOfChild[$0] }
        guard let meeting = meeting(graph, tower: towerOfOp) else { return nil }
        let towers = byInput.elements.enumerated().map { t, entry in
            (tower: t, first: entry.value.map { children[$0]!.first }.min()!,
             branch: Branch(name: entry.value.max { (children[$0]!.ops, $1) < (children[$1]!.ops, $0) }!, prefixes: entry.value),
             input: sources[entry.key.trailingZeroBitCount].input)
        }.sorted { $0.first < $1.first }
        let order = towers.map(\.tower)  // tower number -> its place among the branches
        let read = resultRead(graph, meeting, towers: towers.count, learned: learned, reader: { module in
            module != parent && modulePath(module, isWithin: parent) ? child(of: parent, containing: module, types) : nil
        }).map { read in
            let returned = order.firstIndex(of: read.returned)!
            return ResultRead(returned: returned, without: read.without.map { order.firstIndex(of: $0)! }.sorted(), reader: read.reader,
                              result: read.result,
                              bySlot: read.reader.map { slotOfTheirHeads($0, towers.map(\.branch.prefixes), returned: returned, types) } ?? false)
        }
        return (parent, towers.map(\.branch), towers.map(\.input), read)
    }

    /// Whether `module` is a slot of a container (ModuleList, ModuleDict) holding one module of each tower but one —
    /// among them the tower `returned` — and `module` is the slot of the tower that has none there: a container of
    /// the towers' heads (`heads.0` ending tower 0, `heads.1` read after tower 1's encoder), not of stages.
    static func slotOfTheirHeads(_ module: String, _ towers: [[String]], returned: Int, _ types: [String: String]) -> Bool {
        guard let container = ModulePath.parent(of: module), ["ModuleList", "ModuleDict"].contains(types[String(container)]) else { return false }
        let slots = towers.map { $0.filter { ModulePath.parent(of: $0) == container }.count }
        return slots[returned] == 1 && slots.allSatisfy { $0 <= 1 } && slots.filter { $0 == 0 }.count == 1
    }

    /// The child of `parent` an op of `module` counts under: a container's entry (`streams.0`), not the container.
    static func child(of parent: String, containing module: String, _ types: [String: String]) -> String {
        let child = ModulePath.child(of: parent, containing: module)
        guard ["ModuleList", "ModuleDict"].contains(types[child]), module != child else { return child }
        return ModulePath.child(of: child, containing: module)
    }

    /// What towers are fed: the inputs that carry data per sample (floating point, with features beside the
    /// batch dimension), or, for an input the forward only ever takes parts of (`x[:, :3]` and `x[:, 3:]`, a
    /// pair stacked as `x[:, 0]` and `x[:, 1]`, `x.unbind(1)`), each part.
    static func sources(_ graph: Graph) -> [(value: ValueID, input: Int)] {
        var sources: [(value: ValueID, input: Int)] = []
        for (position, v) in graph.inputs.enumerated() where graph.carriesGradient(v) && (graph[v].shape?.count ?? 0) >= 2 {
            let uses = graph[v].uses.map { graph.nodes[$0.node.index] }
            let partsOnly = uses.allSatisfy { Towers.selecting.contains($0.op) || $0.properties.contains(.splits) }
            let parts = uses.flatMap(\.outputs)
            if partsOnly, parts.count >= 2 {
                sources += parts.map { ($0, position) }
            } else {
                sources.append((v, position))
            }
        }
        return sources
    }

    /// Ops that take a part of a tensor (besides those that split it into parts).
    static let selecting: Set<String> = ["select", "slice", "narrow"]

    /// Where what the towers compute meets, when it meets once, in one op (the concatenation a fusion head
    /// reads), and only mixed values go on from there: that op, and per value the towers it is made from.
    /// Streams that meet again and again are one network fed two inputs, not towers: a lateral connection
    /// from one pathway into the other before the end (SlowFast), a decoder whose every layer reads the
    /// encoder's output (a sequence-to-sequence model with a projection per input), a gate that weighs one
    /// tower's output by the fused features. `tower`: per op, the tower it lies in (-1: none).
    static func meeting(_ graph: Graph, tower: [Int]) -> Meeting? {
        var from = [UInt64](repeating: 0, count: graph.values.count)  // which towers a value is made from
        var meetings = 0, op = -1
        for (index, node) in graph.nodes.enumerated() {
            var union: UInt64 = 0, first: UInt64 = 0, distinct = false, pure = false
            for v in node.valueInputs where from[v.index] != 0 {
                let mask = from[v.index]
                union |= mask
                pure = pure || mask.nonzeroBitCount == 1
                if first == 0 { first = mask } else if mask != first { distinct = true }
            }
            if tower[index] >= 0 {
                for v in node.outputs { from[v.index] = 1 << UInt64(tower[index]) }
                continue
            }
            if distinct && pure && union.nonzeroBitCount >= 2 { meetings += 1; op = index }
            for v in node.outputs { from[v.index] = union }
        }
        return meetings == 1 ? Meeting(op: op, from: from) : nil
    }

    struct Meeting {
        /// The op the towers meet in.
        var op: Int
        /// Per value, the towers it is made from (a bit per tower, in the order the towers were grouped).
        var from: [UInt64]
    }

    /// `TowerResultRead` by tower: the tower whose result is read, those returning none (indices into the
    /// towers), the reader.
    struct ResultRead {
        var returned: Int
        var without: [Int]
        var reader: String?
        var result = true
        var bySlot = false

        /// By name, the reader added to the tower it would end when that is one.
        func named(_ towers: [Branch]) -> TowerResultRead {
            var suggested: [[String]] = []
            if let reader, without.count == 1 {
                suggested = towers.indices.map { towers[$0].prefixes + (without == [$0] ? [reader] : []) }
            }
            return TowerResultRead(
                returned: towers[returned].prefixes, without: without.map { towers[$0].name }, reader: reader, suggested: suggested,
                result: result, bySlot: bySlot && !suggested.isEmpty)
        }
    }

    /// Whether the op the towers meet in reads a result one tower returns (the model returns it, or a value
    /// made from it by ops that learn nothing), through ops that learn nothing — or, else, any value of a tower that
    /// returns a result — while another tower returns none: late fusion of results every tower returns, and towers
    /// fused into one result (a two-stream network), are what they look like.
    /// `learned`: per op, whether it learns. `reader`: the child of the towers' parent an op of a module counts under
    /// (nil: the parent's own op).
    static func resultRead(_ graph: Graph, _ meeting: Meeting, towers count: Int, learned: [Bool], reader child: (String) -> String?) -> ResultRead? {
        let from = meeting.from
        func alone(_ v: ValueID) -> Bool { from[v.index].nonzeroBitCount == 1 }
        // A value is returned when the model returns it, or what ops that learn nothing make of it, one tower's alone.
        var returned = [Bool](repeating: false, count: graph.values.count)
        var towersReturning: UInt64 = 0
        for v in graph.outputs where alone(v) {
            returned[v.index] = true
            towersReturning |= from[v.index]
        }
        let all: UInt64 = count >= 64 ? ~0 : (1 << UInt64(count)) - 1
        guard towersReturning != 0, towersReturning != all else { return nil }
        for n in graph.nodes.indices.reversed() where !learned[n] && graph.nodes[n].outputs.contains(where: { returned[$0.index] }) {
            for v in graph.nodes[n].valueInputs where alone(v) { returned[v.index] = true }
        }
        // Only what carries a gradient to the meeting: a tower's values read detached are independent either way.
        var pending = graph.gradientValueInputs(of: meeting.op).filter(alone)
        var seen = Set<Int>()
        var read: UInt64?
        // Else what a tower that returns a result computes (a learned op of it), read beside a tower that returns none
        // (its encoder's features: the other tower's head reading them, or the encoder a trunk of its head and of the fusion).
        var features: UInt64?
        while let v = pending.popLast() {
            guard seen.insert(v.index).inserted else { continue }
            if returned[v.index] { read = from[v.index]; break }
            guard let p = graph[v].producer else { continue }
            if !learned[p.index] {
                pending += graph.gradientValueInputs(of: p.index).filter(alone)
            } else if features == nil, from[v.index] & towersReturning != 0 {
                features = from[v.index]
            }
        }
        if read != nil { features = nil }
        guard let read = read ?? features else { return nil }
        // The first learned op computing with what the towers met in.
        var mixed = Set(graph.nodes[meeting.op].outputs)
        var reader: String?
        for n in (meeting.op + 1)..<graph.nodes.count where graph.nodes[n].valueInputs.contains(where: mixed.contains) {
            if learned[n] {
                reader = child(graph.nodes[n].module)
                break
            }
            mixed.formUnion(graph.nodes[n].outputs)
        }
        let without = (0..<count).filter { towersReturning & (1 << UInt64($0)) == 0 }
        return ResultRead(returned: read.trailingZeroBitCount, without: without, reader: reader, result: features == nil)
    }
}
