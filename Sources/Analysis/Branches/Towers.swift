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
    static func find(_ graph: Graph, learns: [Bool]) -> (parent: String, branches: [Branch], inputs: [Int])? {
        let sources = sources(graph)
        guard sources.count >= 2, sources.count <= 64 else { return nil }
        var seed = [UInt64](repeating: 0, count: graph.values.count)  // each source's own bit
        for (bit, source) in sources.enumerated() { seed[source.value.index] = 1 << UInt64(bit) }
        var from = seed  // which sources a value is made from
        let parent = ModulePath.common(graph.nodes.lazy.map(\.module))
        let types = graph.moduleTypes()
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
            var child = ModulePath.child(of: parent, containing: node.module)
            if ["ModuleList", "ModuleDict"].contains(types[child]), node.module != child {
                child = ModulePath.child(of: child, containing: node.module)
            }
            let learned = learns[index] || node.readsStorage
            children[child, default: (0, 0, index, false)].ops += 1
            if learned { children[child]!.inputs |= read }
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
        guard meetOnce(graph, tower: childOf.map { $0 < 0 ? -1 : towerOfChild[$0] }) else { return nil }
        let towers = byInput.map { mask, members in
            (first: members.map { children[$0]!.first }.min()!,
             branch: Branch(name: members.max { (children[$0]!.ops, $1) < (children[$1]!.ops, $0) }!, prefixes: members),
             input: sources[mask.trailingZeroBitCount].input)
        }.sorted { $0.first < $1.first }
        return (parent, towers.map(\.branch), towers.map(\.input))
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

    /// Whether what the towers compute meets once, in one op (the concatenation a fusion head reads),
    /// and only mixed values go on from there. Streams that meet again and again are one network fed two
    /// inputs, not towers: a lateral connection from one pathway into the other before the end
    /// (SlowFast), a decoder whose every layer reads the encoder's output (a sequence-to-sequence model
    /// with a projection per input), a gate that weighs one tower's output by the fused features.
    /// `tower`: per op, the tower it lies in (-1: none).
    static func meetOnce(_ graph: Graph, tower: [Int]) -> Bool {
        var from = [UInt64](repeating: 0, count: graph.values.count)  // which towers a value is made from
        var meetings = 0
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
            if distinct && pure && union.nonzeroBitCount >= 2 { meetings += 1 }
            for v in node.outputs { from[v.index] = union }
        }
        return meetings == 1
    }
}
