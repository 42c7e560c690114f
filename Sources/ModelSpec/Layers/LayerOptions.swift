import FormatSupport

/// Reads a built-in layer's keyword arguments from its spec object, with PyTorch's defaults and names,
/// rejecting unknown keywords so a typo is an error and not a silently different model.
struct LayerOptions {
    /// Sizes beyond this are not believed (and would overflow shape arithmetic).
    static let maxSize = 1 << 31

    let cursor: JSONCursor

    func int(_ key: String) throws(InputError) -> Int {
        try positive(try cursor.required(key))
    }

    func int(_ key: String, default value: Int) throws(InputError) -> Int {
        guard let c = try cursor.optional(key) else { return value }
        return try bounded(c)
    }

    /// An integer option that may be negative (a dimension, a slice bound), within ±`maxSize`.
    func bounded(_ c: JSONCursor) throws(InputError) -> Int {
        let v = try c.int()
        guard abs(v) <= LayerOptions.maxSize else { throw c.error("\(v) is implausibly large") }
        return v
    }

    func bool(_ key: String, default value: Bool) throws(InputError) -> Bool {
        try cursor.optional(key)?.bool() ?? value
    }

    func double(_ key: String, default value: Double) throws(InputError) -> Double {
        try cursor.optional(key)?.double() ?? value
    }

    /// An `int or (int, int)` argument such as `kernel_size`.
    func pair(_ key: String) throws(InputError) -> [Int] {
        try pair(try cursor.required(key))
    }

    func pair(_ key: String, default value: [Int]) throws(InputError) -> [Int] {
        guard let c = try cursor.optional(key) else { return value }
        return try pair(c)
    }

    func optionalPair(_ key: String) throws(InputError) -> [Int]? {
        guard let c = try cursor.optional(key) else { return nil }
        return try pair(c)
    }

    /// An `int or list of int` argument such as LayerNorm's `normalized_shape`.
    func intList(_ key: String) throws(InputError) -> [Int] {
        let c = try cursor.required(key)
        if case .array = c.node.value {
            var dims: [Int] = []
            for element in try c.elements() { dims.append(try positive(element)) }
            return dims
        }
        return [try positive(c)]
    }

    private func pair(_ c: JSONCursor) throws(InputError) -> [Int] {
        if case .array = c.node.value {
            let values = try c.ints()
            guard values.count == 2 else { throw c.error("expected an integer or a pair of integers") }
            guard values.allSatisfy({ $0 >= 0 && $0 <= LayerOptions.maxSize }) else { throw c.error("values must be between 0 and \(LayerOptions.maxSize)") }
            return values
        }
        let v = try c.int()
        guard v >= 0, v <= LayerOptions.maxSize else { throw c.error("value must be between 0 and \(LayerOptions.maxSize)") }
        return [v, v]
    }

    private func positive(_ c: JSONCursor) throws(InputError) -> Int {
        let v = try c.int()
        guard v > 0 else { throw c.error("expected a positive integer, found \(v)") }
        guard v <= LayerOptions.maxSize else { throw c.error("\(v) is implausibly large") }
        return v
    }
}

/// The built-in layers a spec may name with `"type"`, parsed from their keyword arguments.
enum LayerCatalog {
    static let names = [
        "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Linear", "Dropout",
        "Flatten", "Identity", "Embedding", "LayerNorm",
    ]

    /// Builds the layer `type`, or returns nil when `type` is not a built-in layer.
    static func make(_ type: String, _ cursor: JSONCursor) throws(InputError) -> ModuleInstance? {
        let o = LayerOptions(cursor: cursor)
        func keys(_ allowed: Set<String>) throws(InputError) { try cursor.checkKeys(allowed.union(["type"])) }
        switch type {
        case "Conv2d":
            try keys(["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"])
            let groups = try o.int("groups", default: 1)
            let inChannels = try o.int("in_channels")
            let outChannels = try o.int("out_channels")
            guard groups > 0, inChannels % groups == 0, outChannels % groups == 0 else {
                throw cursor.error("in_channels and out_channels must be divisible by groups (\(groups))")
            }
            return Layers.conv2d(
                inChannels, outChannels, kernel: try o.pair("kernel_size"), stride: try o.pair("stride", default: [1, 1]),
                padding: try o.pair("padding", default: [0, 0]), dilation: try o.pair("dilation", default: [1, 1]),
                groups: groups, bias: try o.bool("bias", default: true))
        case "BatchNorm2d":
            try keys(["num_features", "eps", "momentum", "affine", "track_running_stats"])
            return Layers.batchNorm2d(
                try o.int("num_features"), eps: try o.double("eps", default: 1e-5), momentum: try o.double("momentum", default: 0.1),
                affine: try o.bool("affine", default: true), trackRunningStats: try o.bool("track_running_stats", default: true))
        case "ReLU":
            try keys(["inplace"])
            return Layers.relu(inplace: try o.bool("inplace", default: false))
        case "MaxPool2d":
            try keys(["kernel_size", "stride", "padding", "dilation", "ceil_mode"])
            return Layers.maxPool2d(
                kernel: try o.pair("kernel_size"), stride: try o.optionalPair("stride"), padding: try o.pair("padding", default: [0, 0]),
                dilation: try o.pair("dilation", default: [1, 1]), ceilMode: try o.bool("ceil_mode", default: false))
        case "AvgPool2d":
            try keys(["kernel_size", "stride", "padding", "ceil_mode"])
            return Layers.avgPool2d(
                kernel: try o.pair("kernel_size"), stride: try o.optionalPair("stride"), padding: try o.pair("padding", default: [0, 0]),
                ceilMode: try o.bool("ceil_mode", default: false))
        case "AdaptiveAvgPool2d":
            try keys(["output_size"])
            return Layers.adaptiveAvgPool2d(try o.pair("output_size"))
        case "Linear":
            try keys(["in_features", "out_features", "bias"])
            return Layers.linear(try o.int("in_features"), try o.int("out_features"), bias: try o.bool("bias", default: true))
        case "Dropout":
            try keys(["p", "inplace"])
            let p = try o.double("p", default: 0.5)
            guard (0...1).contains(p) else { throw try cursor.required("p").error("dropout probability must be between 0 and 1") }
            return ModuleInstance("Dropout", .dropout(p: p, inplace: try o.bool("inplace", default: false)))
        case "Flatten":
            try keys(["start_dim", "end_dim"])
            return ModuleInstance("Flatten", .flatten(startDim: try o.int("start_dim", default: 1), endDim: try o.int("end_dim", default: -1)))
        case "Identity":
            try keys([])
            return ModuleInstance("Identity", .identity)
        case "Embedding":
            try keys(["num_embeddings", "embedding_dim"])
            return Layers.embedding(try o.int("num_embeddings"), try o.int("embedding_dim"))
        case "LayerNorm":
            try keys(["normalized_shape", "eps", "elementwise_affine", "bias"])
            return Layers.layerNorm(
                try o.intList("normalized_shape"), eps: try o.double("eps", default: 1e-5),
                elementwiseAffine: try o.bool("elementwise_affine", default: true), bias: try o.bool("bias", default: true))
        default:
            return nil
        }
    }
}
