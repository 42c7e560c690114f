/// The traced model: ops in execution order over SSA values, plus the model's parameters and buffers by
/// storage identity and its module table. Built only through `GraphBuilder`, which keeps the use-def
/// lists both ways in step with the nodes.
public struct Graph: Sendable {
    public var name: String
    /// Matters because BatchNorm only writes its running statistics in training.
    public var mode: Mode
    /// What makes two reads the same storage. Exporters that deduplicate tensors by value (ONNX) only
    /// give names: one storage there may be two tensors that happened to be equal.
    public var storageIdentity: StorageIdentity = .exact
    /// Whether each node's `saves` lists what autograd saved for backward (a trace from graphcheck_torch);
    /// otherwise which op saved what is unknown.
    public var recordsSavedTensors = false
    public internal(set) var nodes: [Node] = []
    public internal(set) var values: [Value] = []
    public internal(set) var storages: [Storage] = []
    public var modules: [ModuleInfo] = []
    public internal(set) var inputs: [ValueID] = []
    public internal(set) var outputs: [ValueID] = []

    public init(name: String, mode: Mode) {
        self.name = name
        self.mode = mode
    }

    // `_read` lends the element instead of copying it (with its arrays) for every `graph[s].kind`.
    public subscript(id: NodeID) -> Node { _read { yield nodes[id.index] } }
    public subscript(id: ValueID) -> Value { _read { yield values[id.index] } }
    public subscript(id: StorageID) -> Storage { _read { yield storages[id.index] } }

    public var storageIDs: [StorageID] { (0..<storages.count).map(StorageID.init) }

    /// Module type by path, for labelling groups of modules in reports.
    public func moduleTypes() -> [String: String] {
        var types: [String: String] = [:]
        for module in modules where types[module.path] == nil { types[module.path] = module.type }
        for node in nodes where types[node.module] == nil { types[node.module] = node.moduleType }
        return types
    }
}

/// How the model was run when it was traced: `model.train()` or `model.eval()`.
public enum Mode: String, Sendable {
    case train
    case eval
}

public enum StorageIdentity: String, Sendable {
    /// One storage is one tensor in memory (PyTorch's untyped storage and the bytes the tensor covers).
    case exact
    /// One storage is one attribute path of one module object (TorchScript, TensorBoard): a module reached
    /// under two names is known to be one, but a tensor assigned into another module (`.data =`,
    /// `nn.Parameter(other)`) looks like a tensor of its own.
    case path
    /// One storage is one name; the producer may have merged equal-valued tensors under it (ONNX).
    case name

    /// Whether two storages are known to be two tensors (names that an exporter may merge are not).
    public var separatesEqualTensors: Bool { self != .name }
    /// Whether every tensor sharing memory with another is known to: only then can "no sharing" be a pass.
    public var recordsStorage: Bool { self == .exact }
}

extension Graph {
    /// Whether a `.detach()` would show. ONNX — the one input that knows tensors only by name — drops it
    /// (it is the identity at inference), so there a detached read between branches looks like any other.
    public var showsDetach: Bool { storageIdentity != .name }

    /// Whether a frozen parameter (`requires_grad_(False)`) would show. Only the exporter records it;
    /// TorchScript graphs (TensorBoard) and ONNX do not, so there every parameter counts as trainable, and a
    /// gradient reaching another head's parameters may reach frozen ones, which take none.
    public var showsFrozen: Bool { storageIdentity == .exact }
}

extension Graph {
    /// Whether a value can carry a gradient: integers and booleans (indices, masks, labels) carry none.
    public func carriesGradient(_ v: ValueID) -> Bool { values[v.index].carriesGradient }

    /// Whether backward sends a gradient from a node's results into its operand at `position`: a value that
    /// can carry one, in an operand the op's backward does not ignore (RoIAlign's boxes only choose where to
    /// read, as an index does). Parameters and buffers always take theirs.
    public func passesGradient(_ node: Int, to position: Int) -> Bool {
        guard nodes[node].passesGradient(to: position), !nodes[node].properties.contains(.cutsGradient) else { return false }
        if case .value(let v) = nodes[node].inputs[position] { return carriesGradient(v) }
        return true
    }

    /// Whether backward sends a gradient from a node's results into the parameter or buffer `s` it reads:
    /// not through `.detach()` (`x @ head1.weight.detach()` reads head1's weight and trains nothing of it).
    public func passesGradient(_ node: Int, toStorage s: StorageID) -> Bool {
        guard !nodes[node].properties.contains(.cutsGradient) else { return false }
        let free = nodes[node].gradientFreeInputs
        guard !free.isEmpty else { return true }
        for (k, operand) in nodes[node].inputs.enumerated() where !free.contains(k) && operand == .storage(s) { return true }
        return false
    }

    /// Calls `body` with each value a node reads that backward sends a gradient to (none, for `.detach()`), in
    /// operand order: the sweeps that follow gradients, without making a list per node.
    @inline(__always)
    public func forEachGradientValue(of node: Int, _ body: (ValueID) -> Void) {
        guard !nodes[node].properties.contains(.cutsGradient) else { return }  // `.detach()` sends none back
        let free = nodes[node].gradientFreeInputs
        for (k, operand) in nodes[node].inputs.enumerated() {
            if case .value(let v) = operand, values[v.index].carriesGradient, free.isEmpty || !free.contains(k) { body(v) }
        }
    }

    /// The values a node reads that backward sends a gradient to.
    public func gradientValueInputs(of node: Int) -> [ValueID] {
        var result: [ValueID] = []
        forEachGradientValue(of: node) { result.append($0) }
        return result
    }

    /// Per node: whether it computes with a parameter or buffer, read directly or as a copy that only
    /// converts or lays it out (under `torch.autocast` a linear reads its weight and bias only as bfloat16
    /// casts, and the weight transposed), or as a weight computed from parameters alone: a matrix or larger
    /// (a cosine classifier's `F.normalize(self.weight)`, a weight-standardized convolution's kernel). What
    /// computes with a learned number or vector made so is not: CLIP's `logit_scale.exp()` scaling both
    /// towers' similarity leaves the product unlearned, as before.
    public func computesWithStorage() -> [Bool] {
        var copied = [Bool](repeating: false, count: values.count)   // a parameter converted, laid out or recomputed
        var result = [Bool](repeating: false, count: nodes.count)
        for index in nodes.indices {
            var fromStorage = nodes[index].readsStorage, fromData = false
            for case .value(let v) in nodes[index].inputs {
                if copied[v.index] { fromStorage = true } else { fromData = true }   // any value not a parameter copy
            }
            result[index] = fromStorage
            guard fromStorage && !fromData else { continue }
            let copies = !nodes[index].properties.isDisjoint(with: [.converts, .relaysOut])
            for v in nodes[index].outputs where copies || (values[v.index].shape?.count ?? 0) >= 2 { copied[v.index] = true }
        }
        return result
    }

    /// Per value: whether it is computed from the model's inputs. What comes from parameters alone (a learned
    /// scale's `exp()`, D-FINE's box weighting recomputed in every layer) is the same value on every input.
    /// A tensor made outside the forward (a trace's `constant`: a field of a custom batch object, a plain
    /// tensor attribute) may be input data the trace could not name, so it counts as one; a graph that names
    /// no inputs (traces of older exporters, given a list of images) cannot tell at all: everything counts.
    public func madeFromInputs() -> [Bool] {
        guard !inputs.isEmpty else { return [Bool](repeating: true, count: values.count) }
        var fromInput = [Bool](repeating: false, count: values.count)
        for v in inputs { fromInput[v.index] = true }
        for node in nodes {
            let outside = node.op == "constant" && node.inputs.isEmpty
            guard outside || node.inputs.contains(where: { if case .value(let v) = $0 { return fromInput[v.index] } else { return false } }) else { continue }
            for v in node.outputs { fromInput[v.index] = true }
        }
        return fromInput
    }

    /// Per node: whether backward from the model's outputs runs through it (its results reach an output
    /// other than through `.detach()`, an index or an operand backward ignores). A saved tensor of an op
    /// backward never reaches is never unpacked; a value read by an op it never reaches ties nothing.
    public func reachedByBackward() -> [Bool] {
        var reached = [Bool](repeating: false, count: nodes.count)
        var flows = [Bool](repeating: false, count: values.count)
        // An output that carries no gradient (the codes a VQ-VAE returns, an argmax) starts no backward pass.
        for v in outputs where carriesGradient(v) { flows[v.index] = true }
        for index in stride(from: nodes.count - 1, through: 0, by: -1) {
            guard nodes[index].outputs.contains(where: { flows[$0.index] && carriesGradient($0) }), !nodes[index].properties.contains(.cutsGradient) else { continue }
            reached[index] = true
            forEachGradientValue(of: index) { flows[$0.index] = true }
        }
        return reached
    }
}

extension Graph {
    /// Moves an op to another module's call site: analyses that read the module tree a different way than
    /// the trace records it (an in-place write counted as the writing of the tensor's maker) work on a copy.
    public mutating func move(_ node: NodeID, toModule module: String) { nodes[node.index].module = module }
}
