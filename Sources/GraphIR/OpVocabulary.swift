/// What an op does that the analysis needs to know, asked as properties instead of op names, so that
/// frontends spelling an op differently cannot make a rule miss it.
public struct OpProperties: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Hands on values but no gradient (`.detach()`): nothing computed from its result backpropagates
    /// into what it read.
    public static let cutsGradient = OpProperties(rawValue: 1 << 0)
    /// Draws random numbers (dropout in training): two calls on the same tensor give different values.
    public static let random = OpProperties(rawValue: 1 << 1)
    /// Combines its operands element by element (`a + b`, `a * b`): every element of the result is made of
    /// the same element of each operand, so two tensors combined this way are no longer told apart.
    public static let combinesElementwise = OpProperties(rawValue: 1 << 2)
    /// Reads or converts a tensor's shape, not its values (`x.size(0)` as TorchScript and ONNX record it:
    /// `size → num_to_tensor → int`, `Shape`): bookkeeping for a later `view`, which a picture folds away.
    public static let readsShape = OpProperties(rawValue: 1 << 3)
    /// Lays out the elements it reads anew and computes nothing (`unsqueeze`, `view`, `t`): a weight read
    /// through a chain of these and then used is used once.
    public static let relaysOut = OpProperties(rawValue: 1 << 4)
    /// Its results are booleans or indices whatever it reads (`eq`, `argmax`, `nonzero`): they carry no
    /// gradient. Frontends that record no dtypes (TorchScript graphs) learn it here, so a routing mask made
    /// from a router's scores (`scores == scores.amax(-1)`) does not send the experts' gradient into it.
    public static let indexOrMaskResults = OpProperties(rawValue: 1 << 5)
    /// Converts the dtype of what it reads and computes nothing else (`_to_copy`, `to`, ONNX's `Cast`): under
    /// `torch.autocast` a linear reads its weight only through such a cast.
    public static let converts = OpProperties(rawValue: 1 << 6)
    /// Lays out what it reads as several parts (`split`, `chunk`, `unbind`): `nn.MultiheadAttention` splits
    /// its `in_proj_weight` into the query, key and value projections, each then used once.
    public static let splits = OpProperties(rawValue: 1 << 7)
    /// Lays its operands side by side (`cat`, `stack`): each element of the result is one operand's, so
    /// what it joins stays apart.
    public static let joins = OpProperties(rawValue: 1 << 8)
}

/// The one table from canonical op kinds to their properties. Op kinds not listed have none.
public enum OpVocabulary {
    static let table: [String: OpProperties] = [
        "detach": .cutsGradient,
        "stop_gradient": .cutsGradient,
        "dropout": .random, "native_dropout": .random, "feature_dropout": .random, "alpha_dropout": .random,
        "feature_alpha_dropout": .random, "dropout2d": .random, "dropout3d": .random, "bernoulli": .random,
        "rand": .random, "randn": .random, "randint": .random, "rand_like": .random, "randn_like": .random,
        "randint_like": .random, "normal": .random, "uniform": .random, "multinomial": .random, "randperm": .random,
        "add": .combinesElementwise, "sub": .combinesElementwise, "rsub": .combinesElementwise, "mul": .combinesElementwise,
        "div": .combinesElementwise, "true_divide": .combinesElementwise, "maximum": .combinesElementwise,
        "minimum": .combinesElementwise, "lerp": .combinesElementwise,
        "size": .readsShape, "sym_size": .readsShape, "shape": .readsShape, "num_to_tensor": .readsShape, "int": .readsShape,
        "scalar_implicit": .readsShape, "sym_numel": .readsShape, "numel": .readsShape,
        "view": .relaysOut, "reshape": .relaysOut, "unsqueeze": .relaysOut, "squeeze": .relaysOut, "t": .relaysOut,
        "transpose": .relaysOut, "permute": .relaysOut, "expand": .relaysOut, "flatten": .relaysOut, "unflatten": .relaysOut,
        "alias": .relaysOut, "contiguous": .relaysOut, "select": .relaysOut, "slice": .relaysOut, "narrow": .relaysOut,
        "split": [.relaysOut, .splits], "chunk": [.relaysOut, .splits], "unbind": [.relaysOut, .splits],
        "split_with_sizes": [.relaysOut, .splits], "unsafe_split": [.relaysOut, .splits], "unsafe_chunk": [.relaysOut, .splits],
        "tensor_split": [.relaysOut, .splits], "diagonal": .relaysOut, "as_strided": .relaysOut,
        "view_as": .relaysOut, "expand_as": .relaysOut, "reshape_as": .relaysOut, "movedim": .relaysOut, "swapaxes": .relaysOut,
        "cat": .joins, "concat": .joins, "concatenate": .joins, "stack": .joins, "hstack": .joins, "vstack": .joins,
        "dstack": .joins, "column_stack": .joins,
        "_to_copy": .converts, "to": .converts, "type_as": .converts, "cast": .converts, "_to_dtype": .converts,
        "_autocast_to_reduced_precision": .converts, "_autocast_to_full_precision": .converts,
    ].merging(Dictionary(uniqueKeysWithValues: indexOrMask.map { ($0, OpProperties.indexOrMaskResults) })) { a, _ in a }

    /// Ops whose every result is a boolean or an integer, as torch (TorchScript) and ONNX (snake-cased) name them.
    static let indexOrMask = [
        "eq", "ne", "lt", "le", "gt", "ge", "equal", "not_equal", "less", "less_or_equal", "greater", "greater_or_equal",
        "argmax", "argmin", "arg_max", "arg_min", "argsort", "nonzero", "non_zero", "isnan", "isinf", "isfinite", "isneginf",
        "isposinf", "is_inf", "logical_and", "logical_or", "logical_not", "logical_xor", "and", "or", "not", "xor",
        "bitwise_and", "bitwise_or", "bitwise_not", "bitwise_xor", "bucketize", "searchsorted", "one_hot",
    ]

    public static func properties(of op: String) -> OpProperties { table[op] ?? [] }
}

/// The buffers BatchNorm updates in training mode, by attribute name: the state a forward pass writes.
/// Frontends that know tensors only by name (ONNX, TorchScript) tell these buffers from parameters by it.
public enum RunningStatistics {
    public static let names: Set<String> = ["running_mean", "running_var", "num_batches_tracked"]
}

extension Storage {
    /// A BatchNorm running statistic (`running_mean`, `running_var`, `num_batches_tracked`).
    public var isRunningStatistic: Bool { RunningStatistics.names.contains(attributeName) }
}
