import FormatSupport
import GraphIR

/// What each built-in module's `forward` does, op by op, as torch.nn and torchvision implement it.
extension Tracer {
    func forward(_ module: ModuleInstance, _ args: [TracedValue]) throws(InputError) -> TracedValue {
        switch module.kind {
        case .sequential:
            var x = try single(args)
            for child in module.children { x = try callChild(module, child.name, [x]) }
            return x
        case .moduleList, .moduleDict:
            throw fail("\(module.typeName) is not callable; call one of its entries")
        case .custom:
            throw fail("internal: custom modules are run by the tracer")
        case .denseNet:
            let features = try callChild(module, "features", [try single(args)])
            var out = try relu(features, inplace: true)
            out = try adaptiveAvgPool(out, [1, 1])
            out = try flatten(out, start: 1, end: -1)
            return try callChild(module, "classifier", [out])
        case .denseBlock:
            var features = [try single(args)]
            for child in module.children { features.append(try callChild(module, child.name, features)) }
            return try cat(features, dim: 1)
        case .denseLayer:
            var x = try cat(args, dim: 1)
            for name in ["norm1", "relu1", "conv1", "norm2", "relu2", "conv2"] { x = try callChild(module, name, [x]) }
            return x
        case .resNet:
            var x = try single(args)
            for name in ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"] {
                x = try callChild(module, name, [x])
            }
            x = try flatten(x, start: 1, end: -1)
            return try callChild(module, "fc", [x])
        case .residualBlock:
            let x = try single(args)
            var out = try callChild(module, "conv1", [x])
            out = try callChild(module, "bn1", [out])
            out = try callChild(module, "relu", [out])
            out = try callChild(module, "conv2", [out])
            out = try callChild(module, "bn2", [out])
            if module.child("conv3") != nil {
                out = try callChild(module, "relu", [out])
                out = try callChild(module, "conv3", [out])
                out = try callChild(module, "bn3", [out])
            }
            let identity = module.child("downsample") != nil ? try callChild(module, "downsample", [x]) : x
            out = try binary("add", out, identity, inplace: true)
            return try callChild(module, "relu", [out])
        default:
            return try layer(module, try single(args))
        }
    }

    private func layer(_ module: ModuleInstance, _ x: TracedValue) throws(InputError) -> TracedValue {
        func parameters() -> [TensorSlot] { module.parameters.map(\.slot) }
        switch module.kind {
        case .conv2d(let o):
            try check { () throws(ShapeError) in try ShapeRules.channels(x.shape, expected: o.inChannels, what: "in_channels") }
            let shape = try check { () throws(ShapeError) in
                try ShapeRules.windowed(x.shape, kernel: o.kernelSize, stride: o.stride, padding: o.padding, dilation: o.dilation)
            }
            var out = shape
            out[shape.count - 3] = o.outChannels
            return emit("conv2d", [x], reads: parameters(), shape: out, attributes: [
                ("kernel_size", .ints(o.kernelSize)), ("stride", .ints(o.stride)), ("padding", .ints(o.padding)),
                ("dilation", .ints(o.dilation)), ("groups", .int(o.groups)),
            ])
        case .batchNorm2d(let o):
            guard x.shape.count == 4 else { throw fail("expected 4D input (got \(x.shape.count)D input \(ShapeRules.describe(x.shape)))") }
            try check { () throws(ShapeError) in try ShapeRules.channels(x.shape, expected: o.numFeatures, what: "num_features") }
            if isTraining && x.shape[0] * x.shape[2] * x.shape[3] == 1 {
                throw fail("expected more than 1 value per channel when training, got input size \(ShapeRules.describe(x.shape))")
            }
            let buffers = module.buffers.map(\.slot)
            let updates = isTraining && o.trackRunningStats
            return emit("batch_norm", [x], reads: parameters() + buffers.filter { $0.shape.count == 1 }, shape: x.shape,
                writes: updates ? buffers : [], attributes: [("training", .bool(isTraining || !o.trackRunningStats)), ("momentum", .double(o.momentum)), ("eps", .double(o.eps))])
        case .relu(let inplace):
            return try relu(x, inplace: inplace)
        case .maxPool2d(let o):
            return try pool("max_pool2d", x, o)
        case .avgPool2d(let o):
            return try pool("avg_pool2d", x, o)
        case .adaptiveAvgPool2d(let size):
            return try adaptiveAvgPool(x, size)
        case .linear(let inFeatures, let outFeatures):
            let shape = try check { () throws(ShapeError) in try ShapeRules.linear(x.shape, inFeatures: inFeatures, outFeatures: outFeatures) }
            return emit("linear", [x], reads: parameters(), shape: shape)
        case .dropout(let p, let inplace):
            return emit("dropout", [x], shape: x.shape, inplace: inplace, attributes: [("p", .double(p)), ("train", .bool(isTraining))])
        case .flatten(let start, let end):
            return try flatten(x, start: start, end: end)
        case .identity:
            return x
        case .embedding(let count, let dim):
            guard x.dtype.isInteger else {
                throw fail("expects integer indices, got \(x.dtype) input (give the input \"dtype\": \"int64\")")
            }
            _ = count
            return emit("embedding", [x], reads: parameters(), shape: x.shape + [dim], dtype: .float32)
        case .layerNorm(let normalized, let eps):
            guard x.shape.count >= normalized.count, Array(x.shape.suffix(normalized.count)) == normalized else {
                throw fail("expects input whose last dimensions are \(ShapeRules.describe(normalized)) (normalized_shape), got \(ShapeRules.describe(x.shape))")
            }
            return emit("layer_norm", [x], reads: parameters(), shape: x.shape, attributes: [("eps", .double(eps))])
        default:
            throw fail("internal: \(module.typeName) has no layer forward")
        }
    }

    private func single(_ args: [TracedValue]) throws(InputError) -> TracedValue {
        guard args.count == 1, let x = args.first else { throw fail("takes one input, called with \(args.count)") }
        return x
    }

    // MARK: - Functional ops

    func functional(_ op: FunctionalOp, _ args: [TracedValue]) throws(InputError) -> TracedValue {
        switch op {
        case .relu(let inplace): return try relu(args[0], inplace: inplace)
        case .adaptiveAvgPool2d(let size): return try adaptiveAvgPool(args[0], size)
        case .maxPool2d(let o): return try pool("max_pool2d", args[0], o)
        case .avgPool2d(let o): return try pool("avg_pool2d", args[0], o)
        case .view(let shape, let name):
            let x = args[0]
            let out = try check { () throws(ShapeError) in try ShapeRules.view(x.shape, as: shape) }
            return emit(name, [x], shape: out, attributes: [("shape", .ints(shape))])
        case .flatten(let start, let end): return try flatten(args[0], start: start, end: end)
        case .cat(let dim): return try cat(args, dim: dim)
        case .slice(let dim, let start, let end, let step):
            let x = args[0]
            let out = try check { () throws(ShapeError) in try ShapeRules.slice(x.shape, dim: dim, start: start, end: end, step: step) }
            var attributes: [(name: String, value: AttributeValue)] = [("dim", .int(dim))]
            if let start { attributes.append(("start", .int(start))) }
            if let end { attributes.append(("end", .int(end))) }
            attributes.append(("step", .int(step)))
            return emit("slice", [x], shape: out, attributes: attributes)
        case .select(let dim, let index):
            let x = args[0]
            let out = try check { () throws(ShapeError) in try ShapeRules.select(x.shape, dim: dim, index: index) }
            return emit("select", [x], shape: out, attributes: [("dim", .int(dim)), ("index", .int(index))])
        case .unsqueeze(let dim):
            let x = args[0]
            let out = try check { () throws(ShapeError) in try ShapeRules.unsqueeze(x.shape, dim: dim) }
            return emit("unsqueeze", [x], shape: out, attributes: [("dim", .int(dim))])
        case .binary(let name, let inplace):
            return try binary(name, args[0], args[1], inplace: inplace)
        case .dropout(let p, let inplace):
            return emit("dropout", [args[0]], shape: args[0].shape, inplace: inplace, attributes: [("p", .double(p)), ("train", .bool(isTraining))])
        }
    }

    private func relu(_ x: TracedValue, inplace: Bool) throws(InputError) -> TracedValue {
        emit("relu", [x], shape: x.shape, inplace: inplace)
    }

    private func adaptiveAvgPool(_ x: TracedValue, _ size: [Int]) throws(InputError) -> TracedValue {
        guard x.shape.count == 3 || x.shape.count == 4 else {
            throw fail("adaptive_avg_pool2d expects a 3-D or 4-D input, got \(ShapeRules.describe(x.shape))")
        }
        return emit("adaptive_avg_pool2d", [x], shape: x.shape.dropLast(2) + size, attributes: [("output_size", .ints(size))])
    }

    private func pool(_ name: String, _ x: TracedValue, _ o: PoolOptions) throws(InputError) -> TracedValue {
        for (p, k) in zip(o.padding, o.kernelSize) where p > k / 2 {
            throw fail("\(name): padding \(p) should be at most half of kernel size \(k)")
        }
        let shape = try check { () throws(ShapeError) in
            try ShapeRules.windowed(x.shape, kernel: o.kernelSize, stride: o.stride, padding: o.padding, dilation: o.dilation, ceilMode: o.ceilMode)
        }
        return emit(name, [x], shape: shape, attributes: [("kernel_size", .ints(o.kernelSize)), ("stride", .ints(o.stride)), ("padding", .ints(o.padding))])
    }

    private func flatten(_ x: TracedValue, start: Int, end: Int) throws(InputError) -> TracedValue {
        let shape = try check { () throws(ShapeError) in try ShapeRules.flatten(x.shape, start: start, end: end) }
        return emit("flatten", [x], shape: shape, attributes: [("start_dim", .int(start)), ("end_dim", .int(end))])
    }

    private func cat(_ xs: [TracedValue], dim: Int) throws(InputError) -> TracedValue {
        let shape = try check { () throws(ShapeError) in try ShapeRules.cat(xs.map(\.shape), dim: dim) }
        return emit("cat", xs, shape: shape, attributes: [("dim", .int(dim))])
    }

    private func binary(_ name: String, _ a: TracedValue, _ b: TracedValue, inplace: Bool) throws(InputError) -> TracedValue {
        let shape = try check { () throws(ShapeError) in try ShapeRules.broadcast(a.shape, b.shape) }
        if inplace && shape != a.shape {
            throw fail("\(name)_: output shape \(ShapeRules.describe(shape)) doesn't match the in-place operand \(ShapeRules.describe(a.shape))")
        }
        return emit(name, [a, b], shape: shape, inplace: inplace)
    }
}

extension FunctionalOp {
    var isInplace: Bool {
        switch self {
        case .relu(let inplace), .binary(_, let inplace), .dropout(_, let inplace): return inplace
        default: return false
        }
    }
}
