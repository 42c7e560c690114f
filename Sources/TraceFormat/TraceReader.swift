import FormatSupport
import GraphIR

/// Reads trace JSON (docs/trace-format.md) into a graph (`Frontends` verifies it). Every reference is resolved here, so a
/// dangling id is reported at its JSON path rather than discovered later as a crash.
///
/// Traces are the big input (a million ops is a few hundred megabytes), so this reads straight from a
/// `JSONScanner` into the graph without building a JSON tree. Keys may come in any order: sections that
/// refer to ids (`inputs`, `nodes`, `outputs`) met before `storages` and `values` are skipped and reread
/// from a checkpoint at the end.
public enum TraceReader {
    /// The keys each object of the format may have; docs/trace.schema.json lists the same (a test checks).
    public static let topLevelKeys = Set(TopKey.allCases.map(\.rawValue))
    public static let moduleKeys = Set(ModuleKey.allCases.map(\.rawValue))
    public static let storageKeys = Set(StorageKey.allCases.map(\.rawValue))
    public static let valueKeys = Set(ValueKey.allCases.map(\.rawValue))
    public static let nodeKeys = Set(NodeKey.allCases.map(\.rawValue))

    enum TopKey: String, CaseIterable, Sendable {
        case format, version, producer, model, mode, storageIdentity = "storage_identity", savedTensors = "saved_tensors"
        case inputs, outputs, modules, storages, values, nodes
    }
    enum ModuleKey: String, CaseIterable, Sendable { case path, type, instance, source, registered, madeInForward = "made_in_forward" }
    enum StorageKey: String, CaseIterable, Sendable { case id, kind, names, shape, dtype, memory, digest, requiresGrad = "requires_grad", registered, declared }
    enum MemoryKey: String, CaseIterable, Sendable { case block, bytes }
    enum ValueKey: String, CaseIterable, Sendable { case id, shape, dtype }
    enum NodeKey: String, CaseIterable, Sendable {
        case id, op, module, moduleType = "module_type", inputs, outputs, writes, inplace, saves, attrs, source
        case overwritesSaved = "overwrites_saved"
    }

    /// `parallelAbove`: a `nodes` section longer than this many bytes is read on two threads (tests and
    /// the fuzzer lower it to exercise that path on small files, and compare with reading in order).
    public static func read(_ bytes: [UInt8], parallelAbove: Int = 4 << 20) throws(InputError) -> Graph {
        try JSONScanner.scan(bytes) { (scanner) throws(InputError) -> Graph in
            var reader = StreamingTraceReader(scanner: scanner, byteCount: bytes.count)
            reader.parallelThreshold = parallelAbove
            return try reader.read()
        }
    }
}

/// The state of one read: the scanner, the graph being built and the id tables.
struct StreamingTraceReader {
    var scanner: JSONScanner
    var builder = GraphBuilder(name: "", mode: .train)
    /// The storages' and values' ids, in one table so that a reference costs one hash and finds the kind.
    var ids: [String: Element] = [:]
    /// Node ids, apart: nodes are read after every storage and value, so they need only be checked
    /// against those and each other — and a second thread can check its share of the nodes alone.
    var nodeIDs = Set<String>()
    var parallelThreshold = Int.max

    enum Element {
        case storage(StorageID)
        case value(ValueID)
    }

    static let topKeys = JSONKeyTable<TraceReader.TopKey>()
    static let moduleKeys = JSONKeyTable<TraceReader.ModuleKey>()
    static let storageKeys = JSONKeyTable<TraceReader.StorageKey>()
    static let memoryKeys = JSONKeyTable<TraceReader.MemoryKey>()
    static let valueKeys = JSONKeyTable<TraceReader.ValueKey>()
    static let nodeKeys = JSONKeyTable<TraceReader.NodeKey>()

    init(scanner: JSONScanner, byteCount: Int) {
        self.scanner = scanner
        // Our writer spends roughly 100 bytes per element; reserving avoids rehashing millions of ids.
        // (Capped: reserved room is address space, not memory, but a small machine may refuse much of it.)
        ids.reserveCapacity(min(byteCount / 100, 1 << 22))
        // Nodes take the most bytes each (about 150 in our writer's traces), values the fewest (about 60).
        builder.reserveCapacity(nodes: min(byteCount / 150, 1 << 22), values: min(byteCount / 60, 1 << 22), storages: min(byteCount / 100, 1 << 22))
    }

    /// A reader of the rest of an array on another thread: `other`'s id tables, a scanner of its own.
    init(sharing other: StreamingTraceReader, scanner: JSONScanner) {
        self.scanner = scanner
        ids = other.ids
    }

    mutating func read() throws(InputError) -> Graph {
        let objectStart = scanner.valueOffset
        try scanner.beginObject()
        var seen: UInt64 = 0
        var deferred: [TraceReader.TopKey: JSONScanner.Checkpoint] = [:]
        var name = ""
        var mode = Mode.train
        func has(_ key: TraceReader.TopKey) -> Bool { seen & (1 << UInt64(TraceReader.TopKey.allCases.firstIndex(of: key)!)) != 0 }
        while let key = try scanner.nextKey(in: Self.topKeys, seen: &seen) {
            if try scanner.skipNull() { continue }
            switch key {
            case .format:
                guard try scanner.string() == TraceWriter.format else { throw scanner.error("expected \"format\": \"\(TraceWriter.format)\"") }
            case .version:
                let v = try scanner.int()
                guard v == TraceWriter.version else {
                    throw scanner.error("unsupported trace version \(v) (this graphcheck reads version \(TraceWriter.version))")
                }
            case .producer: _ = try scanner.string()
            case .model: name = try scanner.string()
            case .mode:
                guard let read = Mode(rawValue: try scanner.string()) else { throw scanner.error("mode must be \"train\" or \"eval\"") }
                mode = read
            case .storageIdentity:
                guard let value = StorageIdentity(rawValue: try scanner.string()) else {
                    throw scanner.error("storage_identity must be \"exact\", \"path\" or \"name\"")
                }
                builder.setStorageIdentity(value)
            case .savedTensors: builder.setRecordsSavedTensors(try scanner.bool())
            case .modules: try readModules()
            case .storages: try readArray { r throws(InputError) in try r.readStorage() }
            case .values: try readArray { r throws(InputError) in try r.readValue() }
            case .inputs, .nodes, .outputs:  // they refer to storages and values
                if has(.storages) && has(.values) {
                    try readReferringSection(key)
                } else {
                    deferred[key] = scanner.checkpoint
                    try scanner.skipValue()
                }
            }
        }
        try scanner.finish()
        for key in [TraceReader.TopKey.format, .version, .inputs, .nodes, .outputs] where !has(key) {
            throw scanner.error("missing required key \"\(key.rawValue)\"", at: objectStart)
        }
        for key in [TraceReader.TopKey.inputs, .nodes, .outputs] {
            guard let checkpoint = deferred[key] else { continue }
            scanner.restore(checkpoint)
            try readReferringSection(key)
        }
        var graph = builder.finish()
        graph.name = name
        graph.mode = mode
        return graph
    }

    private mutating func readReferringSection(_ key: TraceReader.TopKey) throws(InputError) {
        switch key {
        case .inputs: try readArray { r throws(InputError) in r.builder.addInput(try r.valueReference()) }
        case .outputs: try readArray { r throws(InputError) in r.builder.addOutput(try r.valueReference()) }
        default: try readNodes()
        }
    }

    mutating func readArray(_ element: (inout StreamingTraceReader) throws(InputError) -> Void) throws(InputError) {
        try scanner.beginArray()
        while try scanner.nextElement() { try element(&self) }
    }

    private mutating func readModules() throws(InputError) {
        var infos: [ModuleInfo] = []
        try readArray { r throws(InputError) in
            var path: String?, type: String?, instance: String?, source: String?, registered = true, madeInForward = false
            let start = r.scanner.valueOffset
            try r.readObject(StreamingTraceReader.moduleKeys) { r, key throws(InputError) in
                switch key {
                case .path: path = try r.scanner.string()
                case .type: type = try r.scanner.string()
                case .instance: instance = try r.scanner.string()
                case .source: source = try r.scanner.string()
                case .registered: registered = try r.scanner.bool()
                case .madeInForward: madeInForward = try r.scanner.bool()
                }
            }
            guard let path else { throw r.scanner.error("missing required key \"path\"", at: start) }
            guard let type else { throw r.scanner.error("missing required key \"type\"", at: start) }
            infos.append(ModuleInfo(
                path: path, type: type, instance: instance, source: source, registered: registered && !madeInForward, madeInForward: madeInForward))
        }
        builder.setModules(infos)
    }

    private mutating func readStorage() throws(InputError) {
        var id: String?, kind: StorageKind?, names: [String]?, shape: [Int]?, dtype: DType?, memory: StorageMemory?, digest: String?
        var requiresGrad = true, registered = true, declared = false
        let start = scanner.valueOffset
        try readObject(StreamingTraceReader.storageKeys) { r, key throws(InputError) in
            switch key {
            case .id: id = try r.newID(.storage(StorageID(r.builder.graph.storages.count)))
            case .kind:
                guard let k = StorageKind(rawValue: try r.scanner.string()) else {
                    throw r.scanner.error("storage kind must be \"parameter\" or \"buffer\"")
                }
                kind = k
            case .names:
                let list = try r.strings()
                guard !list.isEmpty else { throw r.scanner.error("a storage needs at least one name") }
                names = list
            case .shape: shape = try r.shape()
            case .dtype: dtype = DType(try r.scanner.string())
            case .memory: memory = try r.readMemory()
            case .digest: digest = try r.scanner.string()
            case .requiresGrad: requiresGrad = try r.scanner.bool()
            case .registered: registered = try r.scanner.bool()
            case .declared: declared = try r.scanner.bool()
            }
        }
        guard let id else { throw scanner.error("missing required key \"id\"", at: start) }
        guard let kind else { throw scanner.error("missing required key \"kind\"", at: start) }
        guard let names else { throw scanner.error("missing required key \"names\"", at: start) }
        var storage = Storage(id: id, kind: kind, names: names, shape: shape, dtype: dtype, memory: memory, digest: digest, trainable: requiresGrad)
        storage.registered = registered
        storage.declared = declared
        builder.addStorage(storage)
    }

    /// `{"block": "m0", "bytes": [start, end]}`: which bytes of which memory block the storage covers.
    private mutating func readMemory() throws(InputError) -> StorageMemory {
        var block: String?, bytes: [Int]?
        let start = scanner.valueOffset
        try readObject(StreamingTraceReader.memoryKeys) { r, key throws(InputError) in
            switch key {
            case .block: block = try r.scanner.string()
            case .bytes:
                var list: [Int] = []
                try r.readArray { r throws(InputError) in list.append(try r.scanner.int()) }
                guard list.count == 2, list[0] >= 0, list[0] <= list[1] else {
                    throw r.scanner.error("bytes must be [start, end] with 0 <= start <= end")
                }
                bytes = list
            }
        }
        guard let block else { throw scanner.error("missing required key \"block\"", at: start) }
        guard let bytes else { throw scanner.error("missing required key \"bytes\"", at: start) }
        return StorageMemory(block: block, bytes: bytes[0]..<bytes[1])
    }

    private mutating func readValue() throws(InputError) {
        var id: String?, shape: [Int]?, dtype: DType?
        let start = scanner.valueOffset
        try readObject(StreamingTraceReader.valueKeys) { r, key throws(InputError) in
            switch key {
            case .id: id = try r.newID(.value(ValueID(r.builder.graph.values.count)))
            case .shape: shape = try r.shape()
            case .dtype: dtype = DType(try r.scanner.string())
            }
        }
        guard let id else { throw scanner.error("missing required key \"id\"", at: start) }
        builder.addValue(id: id, shape: shape, dtype: dtype)
    }

    /// One element of `nodes`, not yet added to the graph.
    mutating func parseNode() throws(InputError) -> Node {
        var id: String?, op: String?, module: String?, moduleType = "", source: String?
        var inputs: [Operand]?, outputs: [ValueID]?, writes: [StorageID] = [], saves: [ValueID] = [], savedStorages: [StorageID] = []
        var inplace = false, overwritesSaved: [ValueID] = []
        var savesAt: [Int] = [], storagesAt: [Int] = []
        var attributes: [(name: String, value: AttributeValue)] = []
        let start = scanner.valueOffset
        try readObject(StreamingTraceReader.nodeKeys) { r, key throws(InputError) in
            switch key {
            case .id: id = try r.newNodeID()
            case .op:
                let name = try r.scanner.string()
                guard !name.isEmpty else { throw r.scanner.error("op must not be empty") }
                op = name
            case .module: module = try r.scanner.string()
            case .moduleType: moduleType = try r.scanner.string()
            case .inputs:
                var list: [Operand] = []
                try r.readArray { r throws(InputError) in list.append(try r.operandReference()) }
                inputs = list
            case .outputs:
                var list: [ValueID] = []
                try r.readArray { r throws(InputError) in list.append(try r.valueReference()) }
                outputs = list
            case .writes:
                try r.readArray { r throws(InputError) in writes.append(try r.storageReference()) }
            case .inplace: inplace = try r.scanner.bool()
            case .saves:
                try r.readArray { r throws(InputError) in
                    let start = r.scanner.valueOffset
                    switch try r.operandReference() {
                    case .value(let v): saves.append(v); savesAt.append(start)
                    case .storage(let s): savedStorages.append(s); storagesAt.append(start)
                    }
                }
            case .overwritesSaved:
                try r.readArray { r throws(InputError) in overwritesSaved.append(try r.valueReference()) }
            case .attrs: attributes = try r.attributes()
            case .source: source = try r.scanner.string()
            }
        }
        guard let id, let op, let module, let inputs, let outputs else {
            let missing = id == nil ? "id" : op == nil ? "op" : module == nil ? "module" : inputs == nil ? "inputs" : "outputs"
            throw scanner.error("missing required key \"\(missing)\"", at: start)
        }
        // Autograd saves an op's own inputs or results, nothing else.
        for (v, at) in zip(saves, savesAt) where !outputs.contains(v) && !inputs.contains(.value(v)) {
            throw scanner.error("saves names a value that is neither an input nor an output of the node", at: at)
        }
        for (s, at) in zip(savedStorages, storagesAt) where !inputs.contains(.storage(s)) {
            throw scanner.error("saves names a storage that is not an input of the node", at: at)
        }
        var node = Node(
            id: id, op: op, module: module, moduleType: moduleType, inputs: inputs, outputs: outputs, writes: writes,
            inplace: inplace, attributes: attributes, source: source)
        node.saves = saves
        if !savedStorages.isEmpty { node.savedStorages = savedStorages }
        if !overwritesSaved.isEmpty { node.overwritesSaved = overwritesSaved }
        return node
    }

    /// Reads an object whose keys are the cases of `Key`, each at most once; null members count as absent.
    private mutating func readObject<Key>(
        _ table: JSONKeyTable<Key>, _ member: (inout StreamingTraceReader, Key) throws(InputError) -> Void
    ) throws(InputError) {
        try scanner.beginObject()
        var seen: UInt64 = 0
        while let key = try scanner.nextKey(in: table, seen: &seen) {
            if try scanner.skipNull() { continue }
            try member(&self, key)
        }
    }

    // MARK: - References and small values

    /// A storage's or value's id, which must not be taken by one read before it (nodes come later). `element`
    /// is the handle the element will get when it is complete.
    private mutating func newID(_ element: Element) throws(InputError) -> String {
        let id = try scanner.string()
        guard ids.updateValue(element, forKey: id) == nil else { throw scanner.error("duplicate id \"\(id)\"") }
        return id
    }

    private mutating func newNodeID() throws(InputError) -> String {
        let id = try scanner.string()
        guard ids[id] == nil, nodeIDs.insert(id).inserted else { throw scanner.error("duplicate id \"\(id)\"") }
        return id
    }

    private mutating func valueReference() throws(InputError) -> ValueID {
        let id = try scanner.string()
        switch ids[id] {
        case .value(let v): return v
        case .storage: throw scanner.error("\"\(id)\" is a storage, expected a value")
        case nil: throw scanner.error("unknown value id \"\(id)\"")
        }
    }

    private mutating func storageReference() throws(InputError) -> StorageID {
        let id = try scanner.string()
        guard case .storage(let s) = ids[id] else { throw scanner.error("unknown storage id \"\(id)\"") }
        return s
    }

    private mutating func operandReference() throws(InputError) -> Operand {
        let id = try scanner.string()
        switch ids[id] {
        case .value(let v): return .value(v)
        case .storage(let s): return .storage(s)
        case nil: throw scanner.error("unknown value or storage id \"\(id)\"")
        }
    }

    private mutating func strings() throws(InputError) -> [String] {
        var result: [String] = []
        try readArray { r throws(InputError) in result.append(try r.scanner.string()) }
        return result
    }

    private mutating func shape() throws(InputError) -> [Int] {
        var dims: [Int] = []
        try readArray { r throws(InputError) in
            let d = try r.scanner.int()
            guard d >= 0 else { throw r.scanner.error("a dimension must not be negative (\(d))") }
            dims.append(d)
        }
        return dims
    }

    private mutating func attributes() throws(InputError) -> [(name: String, value: AttributeValue)] {
        var result: [(name: String, value: AttributeValue)] = []
        var keys = DuplicateKeys()
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            guard keys.insert(key) else { throw scanner.error("duplicate key \"\(key)\"", at: scanner.keyStart) }
            switch try scanner.peek() {
            case .number:
                switch try scanner.number() {
                case .int(let i): result.append((key, .int(i)))
                case .double(let d): result.append((key, .double(d)))
                }
            case .string: result.append((key, .string(try scanner.string())))
            case .bool: result.append((key, .bool(try scanner.bool())))
            case .array:
                var ints: [Int] = []
                try readArray { r throws(InputError) in ints.append(try r.scanner.int()) }
                result.append((key, .ints(ints)))
            case .null, .object: throw scanner.error("an attribute must be a number, string, boolean or list of integers")
            }
        }
        return result
    }
}
