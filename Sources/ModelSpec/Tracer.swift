import FormatSupport
import GraphIR

/// A tensor during tracing: the IR value plus what shape inference knows about it.
struct TracedValue {
    let id: ValueID
    let shape: [Int]
    let dtype: DType
}

/// Runs a module tree's forward on example input shapes and records every op into a graph, tagged with
/// the module path of its call site, the way PyTorch's module call stack names it. Parameters and
/// buffers become storages keyed by object identity, carrying every name they go by.
final class Tracer {
    /// Bounds the module-path walk: aliasing can make the number of paths grow exponentially.
    static let maxModulePaths = 1_000_000

    private var builder: GraphBuilder
    private let training: Bool
    private var storageOf: [ObjectIdentifier: StorageID] = [:]
    /// The original tensor behind each digest's number.
    private var initialValues: [ObjectIdentifier: Int] = [:]
    private var scopes: [(path: String, type: String)] = []
    private var statements: [SourceLocation] = []
    private let rootLocation: String

    init(name: String, training: Bool, rootLocation: String) {
        builder = GraphBuilder(name: name, mode: training ? .train : .eval)
        self.training = training
        self.rootLocation = rootLocation
    }

    /// Registers the model's modules and tensors (all names, as `named_modules(remove_duplicate=False)`
    /// walks them), then traces one call of `root` on inputs of the given shapes.
    func trace(_ root: ModuleInstance, inputs: [(shape: [Int], dtype: DType)]) throws(InputError) -> Graph {
        try register(root)
        var args: [TracedValue] = []
        for input in inputs {
            let v = newValue(input.shape, input.dtype)
            builder.addInput(v.id)
            args.append(v)
        }
        let results = try call(root, path: "", args)
        for r in results { builder.addOutput(r.id) }
        return builder.finish()
    }

    // MARK: - Registration

    private func register(_ root: ModuleInstance) throws(InputError) {
        var modules: [ModuleInfo] = []
        var instanceIDs: [ObjectIdentifier: String] = [:]
        var parameterNames: [(TensorSlot, [String])] = []
        var bufferNames: [(TensorSlot, [String])] = []
        var parameterIndex: [ObjectIdentifier: Int] = [:]
        var bufferIndex: [ObjectIdentifier: Int] = [:]

        var stack: [(ModuleInstance, String, Int?)] = [(root, "", nil)]
        while let (module, path, line) = stack.popLast() {
            guard modules.count < Tracer.maxModulePaths else {
                throw InputError(location: rootLocation, message: "the model has more than \(Tracer.maxModulePaths) module paths (modules aliased under each other too many times)")
            }
            let key = ObjectIdentifier(module)
            let instance = instanceIDs[key] ?? "m\(instanceIDs.count)"
            instanceIDs[key] = instance
            modules.append(ModuleInfo(path: path, type: module.typeName, instance: instance, line: line))
            func join(_ name: String) -> String { path.isEmpty ? name : path + "." + name }
            for (name, slot) in module.parameters {
                let k = ObjectIdentifier(slot)
                if let i = parameterIndex[k] { parameterNames[i].1.append(join(name)) } else {
                    parameterIndex[k] = parameterNames.count
                    parameterNames.append((slot, [join(name)]))
                }
            }
            for (name, slot) in module.buffers {
                let k = ObjectIdentifier(slot)
                if let i = bufferIndex[k] { bufferNames[i].1.append(join(name)) } else {
                    bufferIndex[k] = bufferNames.count
                    bufferNames.append((slot, [join(name)]))
                }
            }
            for child in module.children.reversed() { stack.append((child.module, join(child.name), module.childLines[child.name])) }
        }
        builder.setModules(modules)
        for (slot, names) in parameterNames + bufferNames {
            let id = builder.addStorage(
                Storage(id: "s\(storageOf.count)", kind: slot.kind, names: names, shape: slot.shape, dtype: slot.dtype, digest: digest(slot)))
            storageOf[ObjectIdentifier(slot)] = id
        }
    }

    /// `init-N`: one N per freshly initialised tensor, shared by its deep copies (equal values); none for
    /// constant fills.
    private func digest(_ slot: TensorSlot) -> String? {
        guard !slot.constant else { return nil }
        let origin = ObjectIdentifier(slot.origin)
        if let n = initialValues[origin] { return "init-\(n)" }
        initialValues[origin] = initialValues.count
        return "init-\(initialValues.count - 1)"
    }

    // MARK: - Emitting

    private func newValue(_ shape: [Int], _ dtype: DType) -> TracedValue {
        let id = builder.addValue(id: "v\(builder.graph.values.count)", shape: shape, dtype: dtype)
        return TracedValue(id: id, shape: shape, dtype: dtype)
    }

    private func storage(_ slot: TensorSlot) -> StorageID {
        if let id = storageOf[ObjectIdentifier(slot)] { return id }
        // Only reachable for a module called without being registered under the root; name it by call site.
        let id = builder.addStorage(Storage(id: "s\(storageOf.count)", kind: slot.kind, names: [currentPath + ".<unregistered>"], shape: slot.shape, dtype: slot.dtype))
        storageOf[ObjectIdentifier(slot)] = id
        return id
    }

    /// Records one op in the current module and returns its output.
    @discardableResult
    func emit(
        _ op: String, _ inputs: [TracedValue], reads: [TensorSlot] = [], shape: [Int], dtype: DType? = nil,
        writes: [TensorSlot] = [], inplace: Bool = false, attributes: [(name: String, value: AttributeValue)] = []
    ) -> TracedValue {
        let output = newValue(shape, dtype ?? inputs.first?.dtype ?? .float32)
        let scope = scopes.last ?? (path: "", type: "")
        var node = Node(
            id: "n\(builder.graph.nodes.count)", op: op, module: scope.path, moduleType: scope.type,
            inputs: inputs.map { .value($0.id) } + reads.map { .storage(storage($0)) }, outputs: [output.id],
            writes: writes.map(storage), inplace: inplace, attributes: attributes)
        node.line = statements.last?.line
        builder.addNode(node)
        return output
    }

    var isTraining: Bool { training }
    private var currentPath: String { scopes.last?.path ?? "" }

    /// An error at the spec statement being run, naming the module the failing op belongs to.
    func fail(_ message: String) -> InputError {
        let scope = scopes.last ?? (path: "", type: "")
        let place = scope.path.isEmpty ? "in the model's forward (\(scope.type))" : "in module '\(scope.path)' (\(scope.type))"
        return InputError(location: statements.last?.text ?? rootLocation, message: "\(place): \(message)")
    }

    func check<T>(_ body: () throws(ShapeError) -> T) throws(InputError) -> T {
        do { return try body() } catch { throw fail(error.message) }
    }

    // MARK: - Calling

    func call(_ module: ModuleInstance, path: String, _ args: [TracedValue]) throws(InputError) -> [TracedValue] {
        scopes.append((path, module.typeName))
        defer { scopes.removeLast() }
        if case .custom(let program) = module.kind { return try run(program, of: module, args) }
        return [try forward(module, args)]
    }

    /// Calls `module`'s child `name` with the call-site path extended by `name`.
    func callChild(_ module: ModuleInstance, _ name: String, _ args: [TracedValue]) throws(InputError) -> TracedValue {
        guard let child = module.child(name) else { throw fail("has no submodule \"\(name)\"") }
        let results = try call(child, path: currentPath.isEmpty ? name : currentPath + "." + name, args)
        guard results.count == 1 else { throw fail("submodule \"\(name)\" returns \(results.count) values, expected one") }
        return results[0]
    }

    private func run(_ program: ForwardProgram, of module: ModuleInstance, _ args: [TracedValue]) throws(InputError) -> [TracedValue] {
        guard args.count == program.inputs.count else {
            throw fail("forward takes \(program.inputs.count) input\(program.inputs.count == 1 ? "" : "s"), called with \(args.count)")
        }
        var env: [String: TracedValue] = [:]
        for (name, value) in zip(program.inputs, args) { env[name] = value }
        for statement in program.body {
            statements.append(statement.location)
            defer { statements.removeLast() }
            let values = statement.args.map { env[$0]! }
            switch statement.action {
            case .call(let path):
                let (target, relative) = try locate(path, from: module, at: statement.location)
                let results = try call(target, path: currentPath.isEmpty ? relative : currentPath + "." + relative, values)
                guard results.count == statement.outs.count else {
                    throw statement.location.error("\"\(path.text)\" returns \(results.count) value\(results.count == 1 ? "" : "s"), but \(statement.outs.count) output names are given")
                }
                for (name, value) in zip(statement.outs, results) { env[name] = value }
            case .op(let op):
                let result = try functional(op, values)
                if op.isInplace, let target = values.first {
                    // The mutated tensor is the same Python object under every name that held it.
                    for (name, value) in env where value.id == target.id { env[name] = result }
                }
                env[statement.outs[0]] = result
            }
        }
        return program.outputs.map { env[$0]! }
    }

    /// Resolves a call path relative to `module` to the module object and its dotted call-site suffix.
    private func locate(_ path: ModulePathExpression, from module: ModuleInstance, at location: SourceLocation) throws(InputError)
        -> (ModuleInstance, String)
    {
        var target = module
        var names: [String] = []
        for step in path.steps {
            switch target.resolve(step) {
            case .success(let next):
                target = next.module
                names.append(next.name ?? "")
            case .failure(let failure):
                throw location.error("cannot call \"\(path.text)\": \(failure.describe(in: target))")
            }
        }
        return (target, names.joined(separator: "."))
    }
}
