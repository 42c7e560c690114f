import GraphIR

/// A graph written op by op, for analysis tests that must not depend on a tracer: values and tensors by
/// name, each op with the module path of its call site.
///
///     var g = SmallGraph(inputs: ["x"])
///     g.op("t", "linear", in: "trunk", ["x"], weights: ["trunk.weight"])
///     g.op("a", "linear", in: "head1", ["t"], weights: ["head1.weight"])
///     g.outputs("a")
public struct SmallGraph {
    private var builder: GraphBuilder
    private var values: [String: ValueID] = [:]
    private var storages: [String: StorageID] = [:]

    /// `recordsSavedTensors`: each op's `saves` is what autograd kept for backward, as in an exporter trace.
    /// `shapes`: inputs of another shape than [2, 4] (`[]`: a scalar).
    public init(inputs: [String], shapes: [String: [Int]] = [:], mode: Mode = .train, recordsSavedTensors: Bool = false) {
        builder = GraphBuilder(name: "SmallGraph", mode: mode)
        builder.setRecordsSavedTensors(recordsSavedTensors)
        for name in inputs {
            let v = builder.addValue(id: name, shape: shapes[name] ?? [2, 4], dtype: "float32")
            values[name] = v
            builder.addInput(v)
        }
    }

    /// One parameter that goes by all of `names` (the first is its home): shared storage. `digest` stands
    /// for its values (equal digests: equal values); `trainable: false` is a frozen parameter; `shape: []` a
    /// learned scalar (a temperature).
    public mutating func share(
        _ names: [String], kind: StorageKind = .parameter, digest: String? = nil, trainable: Bool = true, shape: [Int] = [4, 4]
    ) {
        let s = builder.addStorage(Storage(
            id: "s\(storages.count)", kind: kind, names: names, shape: shape, dtype: "float32", digest: digest, trainable: trainable))
        for name in names { storages[name] = s }
    }

    /// An op reading `inputs` (values) and `weights` (tensors by name, made on first use) and producing
    /// `out`; `inplace` ops overwrite their first input, `out` naming its new version. `saves`: the values
    /// among its inputs and `out` that autograd kept for its backward pass (a weight's name: a parameter or buffer
    /// it kept that the forward overwrites later, as the exporter lists them). `overwritesSaved`: saved values
    /// elsewhere in the memory an in-place op writes. `dtype`: `out`'s (an index is int64;
    /// nil where the input records none, as TorchScript graphs do).
    public mutating func op(
        _ out: String?, _ kind: String, in module: String, _ inputs: [String], weights: [String] = [], writes: [String] = [],
        inplace: Bool = false, attributes: [(name: String, value: AttributeValue)] = [], shape: [Int] = [2, 4],
        saves: [String] = [], overwritesSaved: [String] = [], dtype: DType? = .float32
    ) {
        for name in weights + writes where storages[name] == nil { share([name]) }
        var outputs: [ValueID] = []
        if let out {
            let v = builder.addValue(id: out, shape: shape, dtype: dtype)
            values[out] = v
            outputs = [v]
        }
        let operands = inputs.map { Operand.value(values[$0]!) } + weights.map { Operand.storage(storages[$0]!) }
        var node = Node(
            id: "n\(builder.graph.nodes.count)", op: kind, module: module, moduleType: module.isEmpty ? "Model" : "Module",
            inputs: operands, outputs: outputs, writes: writes.map { storages[$0]! }, inplace: inplace, attributes: attributes)
        node.saves = saves.compactMap { values[$0] }
        node.savedStorages = saves.compactMap { values[$0] == nil ? storages[$0] : nil }
        node.overwritesSaved = overwritesSaved.map { values[$0]! }
        builder.addNode(node)
    }

    /// `op` for a module with its own weight, named `<module>.weight`; `saves` as for `op` (a Linear that
    /// trains keeps its input).
    public mutating func layer(_ out: String, _ module: String, _ inputs: [String], kind: String = "linear", saves: [String] = []) {
        op(out, kind, in: module, inputs, weights: ["\(module).weight"], saves: saves)
    }

    public mutating func outputs(_ names: String...) { outputs(names) }

    public mutating func outputs(_ names: [String]) {
        for name in names { builder.addOutput(values[name]!) }
    }

    /// The module tree as an exporter records it: each path with the object it is (`instance`), so two
    /// paths of one object say so.
    public mutating func modules(_ instances: [(path: String, instance: String)]) {
        builder.setModules(instances.map { ModuleInfo(path: $0.path, type: "Module", instance: $0.instance) })
    }

    public var graph: Graph { builder.finish() }
}

extension SmallGraph {
    /// A multi-gate mixture of experts: shared experts, and per task a gate (`gates.i`, reading the input) and
    /// a tower (`towers.i`) on the gated mix. Both levels split the results the same way, one for one, so task
    /// i is gate i with tower i, and sharing between the towers is sharing between the branches.
    public static func multiGate(towerShared: Bool = false, gatesFeedOneResult: Bool = true) -> Graph {
        var g = Self(inputs: ["x"])
        if towerShared { g.share(["towers.0.weight", "towers.1.weight"]) }
        g.layer("e0", "experts.0", ["x"])
        g.layer("e1", "experts.1", ["x"])
        g.op("e", "stack", in: "", ["e0", "e1"])
        for i in 0..<2 {
            g.layer("g\(i)", "gates.\(i)", ["x"])
            g.op("m\(i)", "mul", in: "", ["e", gatesFeedOneResult || i == 0 ? "g\(i)" : "g0"])
            g.op("y\(i)", "linear", in: "towers.\(i)", ["m\(i)"], weights: ["towers.\(i).weight"])
        }
        g.outputs("y0", "y1")
        return g.graph
    }
}
