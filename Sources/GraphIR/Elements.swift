/// The number of elements of a tensor of `shape`, saturating at `Int.max` instead of trapping: shapes come
/// from files, and a hostile one must not crash the program.
public func elementCount<C: Collection>(_ shape: C) -> Int where C.Element == Int {
    var total = 1
    for dim in shape {
        let (product, overflow) = total.multipliedReportingOverflow(by: max(dim, 0))
        if overflow { return Int.max }
        total = product
    }
    return total
}

/// A tensor computed during the forward pass. `producer` is nil for graph inputs.
public struct Value: Sendable {
    public var id: String
    public var shape: [Int]?
    public var dtype: DType? {
        didSet { carriesGradient = Value.carriesGradient(dtype) }
    }
    public internal(set) var producer: NodeID?
    /// Every (node, input position) that reads this value, in node order.
    public internal(set) var uses: [Use] = []
    /// Whether it can carry a gradient: integers and booleans (indices, masks, labels) carry none. Kept with
    /// the value because the analysis asks it of every operand it follows.
    public internal(set) var carriesGradient: Bool

    public init(id: String, shape: [Int]?, dtype: DType?) {
        self.id = id
        self.shape = shape
        self.dtype = dtype
        self.carriesGradient = Value.carriesGradient(dtype)
    }

    private static func carriesGradient(_ dtype: DType?) -> Bool {
        dtype.map { !($0.isInteger || $0 == .bool) } ?? true
    }
}

public struct Use: Hashable, Sendable {
    public var node: NodeID
    public var index: Int

    public init(node: NodeID, index: Int) {
        self.node = node
        self.index = index
    }
}

public enum StorageKind: String, Sendable {
    case parameter
    case buffer
}

/// Which bytes of which block of memory a parameter or buffer covers. Two tensors share memory when their
/// ranges in one block overlap; disjoint views of one flat buffer (fused QKV weights, flat parameters) do not.
public struct StorageMemory: Hashable, Sendable {
    public var block: String
    public var bytes: Range<Int>

    public init(block: String, bytes: Range<Int>) {
        self.block = block
        self.bytes = bytes
    }
}

/// A parameter or buffer identified by its underlying storage, not by its name: one storage may go by
/// many names (`branch1.norm5.weight`, `branch2.norm5.weight`, …) and that is exactly what we look for.
public struct Storage: Sendable {
    public var id: String
    public var kind: StorageKind
    /// All names, in `named_parameters(remove_duplicate=False)` order; the first is the "home" name.
    public var names: [String]
    public var shape: [Int]?
    public var dtype: DType?
    /// The memory it covers, when the producer knows it (the PyTorch exporter).
    public var memory: StorageMemory?
    /// A fingerprint of its values when the export began, for tensors whose values are not all one number:
    /// two storages with the same digest hold equal values (copies). Absent when unknown (meta tensors,
    /// formats without values) and for constant fills (BatchNorm's ones and zeros), whose equality says
    /// nothing about copying.
    public var digest: String?
    /// A parameter the optimizer can move (`requires_grad`); false for a frozen one (`requires_grad_(False)`),
    /// which no head's gradient changes. Buffers are never trained.
    public var trainable: Bool
    /// Known to the model by some name it registers; false for a parameter only a plain list, dict or class
    /// attribute holds (`self.w = [nn.Parameter(...)]`), which `model.parameters()` misses.
    public var registered = true
    /// Tied by the model's own declaration (Hugging Face's `_tied_weights_keys`): sharing its authors intend,
    /// taken as declared intended like `--allow-shared`.
    public var declared = false
    public internal(set) var readers: [NodeID] = []
    public internal(set) var writers: [NodeID] = []

    public init(
        id: String, kind: StorageKind, names: [String], shape: [Int]?, dtype: DType?, memory: StorageMemory? = nil, digest: String? = nil,
        trainable: Bool = true
    ) {
        self.trainable = kind == .parameter && trainable
        self.id = id
        self.kind = kind
        self.names = names
        self.shape = shape
        self.dtype = dtype
        self.memory = memory
        self.digest = digest
    }

    /// Whether this can be a learned weight: floating point with more than one element (or unknown). Shape
    /// and index constants an exporter creates (`val_1332`: int64[2]) are shared by design.
    public var mayBeWeight: Bool {
        if let dtype, !dtype.isFloatingPoint { return false }
        return (shape.map(elementCount) ?? 2) > 1
    }

    /// The last dotted component of the home name (`running_mean`, `weight`).
    public var attributeName: String {
        guard let name = names.first else { return "" }
        return String(ModulePath.split(tensor: name).attribute)
    }
}

/// A small, typed op attribute (kernel size, stride, dim, …).
public enum AttributeValue: Hashable, Sendable {
    case int(Int)
    case ints([Int])
    case double(Double)
    case string(String)
    case bool(Bool)
}

/// One op in execution order, tagged with the module path of its call site.
public struct Node: Sendable {
    public var id: String
    /// Canonical lowercase op kind: `conv2d`, `batch_norm`, `relu`, …
    public var op: String {
        didSet { properties = OpVocabulary.properties(of: op) }
    }
    /// Dotted module path of the call site as PyTorch names modules; "" is the model's own forward.
    public var module: String
    public var moduleType: String
    public var inputs: [Operand]
    public var outputs: [ValueID]
    /// Storages this op mutates (BatchNorm running statistics in training mode).
    public var writes: [StorageID]
    /// The op overwrites its first input (`relu_`, `add_`).
    public var inplace: Bool
    /// Values (its inputs or results) autograd kept for this op's backward pass, where the producer recorded
    /// them (`Graph.recordsSavedTensors`): overwriting one in place makes `backward()` raise.
    public var saves: [ValueID] = []
    /// Parameters or buffers among its inputs that autograd kept for its backward pass and the forward then
    /// overwrote in place (the exporter lists only those: `q @ self.queue`, then `self.queue[:, :n] = k`).
    public var savedStorages: [StorageID] = []
    /// Values earlier ops saved for backward whose memory this in-place op writes, though not their own
    /// elements (`h[:, 8:] = …` after a Linear kept `h[:, :8]`): autograd counts versions per memory block, so
    /// backward raises all the same. The exporter lists them where autograd's version counter moved.
    public var overwritesSaved: [ValueID] = []
    public var attributes: [(name: String, value: AttributeValue)]
    /// `file:line` of the user code that called the module, when the producer knows it.
    public var source: String?
    /// The line of the input itself that states the op (a model spec's forward statement), where it has one.
    public var line: Int?
    /// What the op kind does, from `OpVocabulary`, looked up once when the node is made.
    public var properties: OpProperties
    /// Positions in `inputs` the op's backward sends no gradient to (the boxes RoIAlign pools from: they
    /// choose where to read, as an index does), from the `no_grad_inputs` attribute the exporter writes.
    public var gradientFreeInputs: [Int]

    public init(
        id: String, op: String, module: String, moduleType: String, inputs: [Operand], outputs: [ValueID],
        writes: [StorageID] = [], inplace: Bool = false, attributes: [(name: String, value: AttributeValue)] = [],
        source: String? = nil
    ) {
        self.id = id
        self.op = op
        self.module = module
        self.moduleType = moduleType
        self.inputs = inputs
        self.outputs = outputs
        self.writes = writes
        self.inplace = inplace
        self.attributes = attributes
        self.source = source
        self.properties = OpVocabulary.properties(of: op)
        self.gradientFreeInputs = []
        for (name, value) in attributes where name == "no_grad_inputs" {
            if case .ints(let positions) = value { gradientFreeInputs = positions }
        }
    }

    /// Whether backward sends a gradient from this op's results into its operand at `position`.
    @inline(__always)
    public func passesGradient(to position: Int) -> Bool {
        gradientFreeInputs.isEmpty || !gradientFreeInputs.contains(position)
    }

    public var valueInputs: [ValueID] {
        inputs.compactMap { if case .value(let v) = $0 { return v } else { return nil } }
    }

    /// The module call an in-place op was written as the direct argument of (`self.head1(F.relu_(t))`): it
    /// runs in the caller, but the head it was written for is that module's.
    public var argumentOf: String? {
        for (name, value) in attributes where name == "argument_of" {
            if case .string(let path) = value { return path }
        }
        return nil
    }

    /// Whether this op is the new version of a tensor another in-place op wrote through a view of it (the
    /// exporter's `through_view`): which of its elements changed is the view's, not the whole tensor.
    public var throughView: Bool { attributes.contains { $0.name == "through_view" } }

    /// Whether an in-place op wrote this tensor through `.data`, which shares the memory but not autograd's
    /// version counter: backward does not see the write (the exporter's `unwatched`).
    public var unwatched: Bool {
        attributes.contains { $0.name == "unwatched" && $0.value == .bool(true) }
    }

    /// The byte ranges the op read of each parameter or buffer it reads, where it read only part of one
    /// (`F.linear(t, W[:2])`, `self.level_embed.weight[i]`): the exporter's `read_bytes`, start and end per
    /// storage; empty when it read them whole.
    public var readBytes: [Int] {
        for (name, value) in attributes where name == "read_bytes" {
            if case .ints(let bytes) = value { return bytes }
        }
        return []
    }

    public var storageInputs: [StorageID] {
        inputs.compactMap { if case .storage(let s) = $0 { return s } else { return nil } }
    }

    /// The first value the op reads (what an in-place op overwrites), without making the list.
    public var firstValueInput: ValueID? {
        for case .value(let v) in inputs { return v }
        return nil
    }

    /// Whether the op reads a parameter or buffer (a learned op). Passes over every node ask this; it makes
    /// no list, as `storageInputs.isEmpty` would.
    public var readsStorage: Bool {
        inputs.contains { if case .storage = $0 { true } else { false } }
    }
}

/// A module as registered in the model: its path, its class, and which object it is. Two paths with the
/// same `instance` are the same Python object (aliasing); producers that cannot tell leave it nil.
public struct ModuleInfo: Hashable, Sendable {
    public var path: String
    public var type: String
    public var instance: String?
    /// The line of the input that declares the module at this path, where the input has one (a model
    /// spec's `{"ref": …}` that aliases it): where a report points for sharing the module creates.
    public var line: Int?
    /// `file:line` of the user's code that assigned the module to this attribute while the model was built
    /// (`self.branch2 = features[-2:]`), where the producer recorded it: the same, for a Python model.
    public var source: String?
    /// False for a module the model holds in a plain Python list or dict (`self.heads = [nn.Linear(…)]`):
    /// the forward calls it, but nn.Module does not register it, so the model's `parameters()` (what an
    /// optimizer is built from), `state_dict()` and `.to()` miss its tensors.
    public var registered: Bool
    /// Made by the forward itself (`head = nn.Linear(16, 4)` written in it): its weights made anew on every
    /// call, which no optimizer sees. Such a module is also unregistered.
    public var madeInForward: Bool

    public init(
        path: String, type: String, instance: String? = nil, line: Int? = nil, source: String? = nil, registered: Bool = true,
        madeInForward: Bool = false
    ) {
        self.path = path
        self.type = type
        self.instance = instance
        self.line = line
        self.source = source
        self.registered = registered
        self.madeInForward = madeInForward
    }
}
