import FormatSupport

/// The body of a custom module's `forward`: statements over named values, each a call of a submodule or
/// a functional op, decoded and validated up front; each keeps its source location so that an error found
/// while tracing points at the statement.
struct ForwardProgram {
    struct Statement {
        enum Action {
            case call(ModulePathExpression)
            case op(FunctionalOp)
        }

        var action: Action
        var args: [String]
        var outs: [String]
        var location: SourceLocation
    }

    var inputs: [String]
    var body: [Statement]
    var outputs: [String]

    init(_ cursor: JSONCursor) throws(InputError) {
        try cursor.checkKeys(["inputs", "body", "outputs"])
        inputs = try cursor.required("inputs").strings()
        body = []
        var defined = Set(inputs)
        for statement in try cursor.required("body").elements() {
            let parsed = try Self.statement(statement, defined: defined)
            defined.formUnion(parsed.outs)
            body.append(parsed)
        }
        outputs = []
        let outs = try cursor.required("outputs")
        for element in try outs.elements() {
            let name = try element.string()
            guard defined.contains(name) else { throw element.error("output \"\(name)\" is never defined") }
            outputs.append(name)
        }
        guard !outputs.isEmpty else { throw outs.error("a forward needs at least one output") }
    }

    /// One statement, whose arguments must be among the values `defined` before it.
    private static func statement(_ cursor: JSONCursor, defined: Set<String>) throws(InputError) -> Statement {
        var args: [String] = []
        for arg in try cursor.optional("args")?.elements() ?? [] {
            let name = try arg.string()
            guard defined.contains(name) else { throw arg.error("value \"\(name)\" is used before it is defined") }
            args.append(name)
        }
        let outCursor = try cursor.required("out")
        let outs: [String]
        if case .array = outCursor.node.value { outs = try outCursor.strings() } else { outs = [try outCursor.string()] }
        guard !outs.isEmpty else { throw outCursor.error("a statement needs at least one output name") }

        if let call = try cursor.optional("call") {
            if try cursor.optional("op") != nil { throw cursor.error("a statement has either \"call\" or \"op\", not both") }
            try cursor.checkKeys(["call", "args", "out"])
            let path = try ModulePathExpression(try call.string(), at: SourceLocation(call))
            if path.steps.contains(where: { if case .slice = $0 { true } else { false } }) {
                throw call.error("call a registered submodule, not a slice of one")
            }
            return Statement(action: .call(path), args: args, outs: outs, location: SourceLocation(cursor))
        }
        guard let opCursor = try cursor.optional("op") else { throw cursor.error("a statement needs \"call\" or \"op\"") }
        let op = try FunctionalOp(try opCursor.string(), cursor, argCount: args.count)
        guard outs.count == 1 else { throw outCursor.error("a functional op has exactly one output") }
        return Statement(action: .op(op), args: args, outs: outs, location: SourceLocation(cursor))
    }
}

/// The functional ops a forward program may use (`torch.*` / `torch.nn.functional.*` / tensor methods).
enum FunctionalOp {
    case relu(inplace: Bool)
    case adaptiveAvgPool2d(outputSize: [Int])
    case maxPool2d(PoolOptions)
    case avgPool2d(PoolOptions)
    case view(shape: [Int], op: String)
    case flatten(startDim: Int, endDim: Int)
    case cat(dim: Int)
    case slice(dim: Int, start: Int?, end: Int?, step: Int)
    case select(dim: Int, index: Int)
    case unsqueeze(dim: Int)
    case binary(op: String, inplace: Bool)
    case dropout(p: Double, inplace: Bool)

    static let names = [
        "relu", "adaptive_avg_pool2d", "max_pool2d", "avg_pool2d", "view", "reshape", "flatten", "cat", "slice",
        "select", "unsqueeze", "add", "sub", "mul", "dropout",
    ]

    init(_ name: String, _ cursor: JSONCursor, argCount: Int) throws(InputError) {
        let o = LayerOptions(cursor: cursor)
        let common: Set<String> = ["op", "args", "out"]
        func keys(_ extra: Set<String>) throws(InputError) { try cursor.checkKeys(common.union(extra)) }
        func arity(_ n: Int) throws(InputError) {
            guard argCount == n else { throw cursor.error("\(name) takes \(n) argument\(n == 1 ? "" : "s"), found \(argCount)") }
        }
        switch name {
        case "relu":
            try keys(["inplace"]); try arity(1)
            self = .relu(inplace: try o.bool("inplace", default: false))
        case "adaptive_avg_pool2d":
            try keys(["output_size"]); try arity(1)
            self = .adaptiveAvgPool2d(outputSize: try o.pair("output_size"))
        case "max_pool2d", "avg_pool2d":
            try keys(["kernel_size", "stride", "padding", "ceil_mode"]); try arity(1)
            let kernel = try o.pair("kernel_size")
            let options = PoolOptions(
                kernelSize: kernel, stride: try o.optionalPair("stride") ?? kernel, padding: try o.pair("padding", default: [0, 0]),
                dilation: [1, 1], ceilMode: try o.bool("ceil_mode", default: false))
            self = name == "max_pool2d" ? .maxPool2d(options) : .avgPool2d(options)
        case "view", "reshape":
            try keys(["shape"]); try arity(1)
            let shapeCursor = try cursor.required("shape")
            var shape: [Int] = []
            for element in try shapeCursor.elements() { shape.append(try o.bounded(element)) }
            guard shape.filter({ $0 == -1 }).count <= 1, shape.allSatisfy({ $0 >= -1 }) else {
                throw shapeCursor.error("a shape holds non-negative sizes and at most one -1")
            }
            self = .view(shape: shape, op: name)
        case "flatten":
            try keys(["start_dim", "end_dim"]); try arity(1)
            self = .flatten(startDim: try o.int("start_dim", default: 0), endDim: try o.int("end_dim", default: -1))
        case "cat":
            try keys(["dim"])
            guard argCount >= 1 else { throw cursor.error("cat needs at least one argument") }
            self = .cat(dim: try o.int("dim", default: 0))
        case "slice":
            try keys(["dim", "start", "end", "step"]); try arity(1)
            let step = try o.int("step", default: 1)
            guard step > 0 else { throw cursor.error("slice step must be positive") }
            self = .slice(
                dim: try o.int("dim", default: 0), start: try cursor.optional("start").map(o.bounded),
                end: try cursor.optional("end").map(o.bounded), step: step)
        case "select":
            try keys(["dim", "index"]); try arity(1)
            self = .select(dim: try o.int("dim", default: 0), index: try o.bounded(try cursor.required("index")))
        case "unsqueeze":
            try keys(["dim"]); try arity(1)
            self = .unsqueeze(dim: try o.bounded(try cursor.required("dim")))
        case "add", "sub", "mul":
            try keys(["inplace"]); try arity(2)
            self = .binary(op: name, inplace: try o.bool("inplace", default: false))
        case "dropout":
            try keys(["p", "inplace"]); try arity(1)
            self = .dropout(p: try o.double("p", default: 0.5), inplace: try o.bool("inplace", default: false))
        default:
            throw try cursor.required("op").error(
                "unknown op \"\(name)\" (known: \(FunctionalOp.names.joined(separator: ", ")))")
        }
    }
}
