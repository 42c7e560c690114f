import GraphIR

/// Which values only a set of ops could have made: every path from the model's inputs to them runs
/// through those ops (constants aside). That is what a trunk is to a head, and what a head is not to
/// another head that mixes one of its intermediates with the trunk's output (`head2(t + a)`). An in-place
/// op's result is the tensor it overwrote, so it keeps that tensor's origin (`nn.ReLU(inplace=True)` at
/// the start of a head, or `t += head1(t)`, leaves the trunk's tensor the trunk's) — unless that tensor held
/// no data yet: zeros the pooled features are written into (Faster R-CNN's RoI pooling, `out[idx] =
/// roi_align(...)`) are those features. What is made from the
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
            if graph.nodes[index].inplace, let target = graph.nodes[index].firstValueInput,
               [.elsewhere, .dominated].contains(origin[target.index]) {
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
