/// Constructors for PyTorch's built-in layers, with exactly the parameters and buffers (names, order,
/// shapes) that `torch.nn` registers, so names and counts agree with a real PyTorch model.
enum Layers {
    static func conv2d(
        _ inChannels: Int, _ outChannels: Int, kernel: [Int], stride: [Int] = [1, 1], padding: [Int] = [0, 0],
        dilation: [Int] = [1, 1], groups: Int = 1, bias: Bool = true
    ) -> ModuleInstance {
        var parameters = [("weight", TensorSlot(.parameter, [outChannels, inChannels / max(groups, 1)] + kernel))]
        if bias { parameters.append(("bias", TensorSlot(.parameter, [outChannels]))) }
        let options = Conv2dOptions(
            inChannels: inChannels, outChannels: outChannels, kernelSize: kernel, stride: stride, padding: padding,
            dilation: dilation, groups: groups)
        return ModuleInstance("Conv2d", .conv2d(options), parameters: parameters)
    }

    static func conv2d(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true)
        -> ModuleInstance
    {
        conv2d(inChannels, outChannels, kernel: [kernel, kernel], stride: [stride, stride], padding: [padding, padding], bias: bias)
    }

    static func batchNorm2d(
        _ numFeatures: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true, trackRunningStats: Bool = true
    ) -> ModuleInstance {
        var parameters: [(String, TensorSlot)] = []
        if affine {
            parameters = [("weight", TensorSlot(.parameter, [numFeatures], constant: true)), ("bias", TensorSlot(.parameter, [numFeatures], constant: true))]
        }
        var buffers: [(String, TensorSlot)] = []
        if trackRunningStats {
            buffers = [
                ("running_mean", TensorSlot(.buffer, [numFeatures])),
                ("running_var", TensorSlot(.buffer, [numFeatures])),
                ("num_batches_tracked", TensorSlot(.buffer, [], dtype: .int64)),
            ]
        }
        let options = BatchNormOptions(
            numFeatures: numFeatures, eps: eps, momentum: momentum, affine: affine, trackRunningStats: trackRunningStats)
        return ModuleInstance("BatchNorm2d", .batchNorm2d(options), parameters: parameters, buffers: buffers)
    }

    static func relu(inplace: Bool = false) -> ModuleInstance {
        ModuleInstance("ReLU", .relu(inplace: inplace))
    }

    static func maxPool2d(kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0], dilation: [Int] = [1, 1], ceilMode: Bool = false)
        -> ModuleInstance
    {
        let options = PoolOptions(kernelSize: kernel, stride: stride ?? kernel, padding: padding, dilation: dilation, ceilMode: ceilMode)
        return ModuleInstance("MaxPool2d", .maxPool2d(options))
    }

    static func avgPool2d(kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0], ceilMode: Bool = false) -> ModuleInstance {
        let options = PoolOptions(kernelSize: kernel, stride: stride ?? kernel, padding: padding, dilation: [1, 1], ceilMode: ceilMode)
        return ModuleInstance("AvgPool2d", .avgPool2d(options))
    }

    static func adaptiveAvgPool2d(_ outputSize: [Int]) -> ModuleInstance {
        ModuleInstance("AdaptiveAvgPool2d", .adaptiveAvgPool2d(outputSize: outputSize))
    }

    static func linear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) -> ModuleInstance {
        var parameters = [("weight", TensorSlot(.parameter, [outFeatures, inFeatures]))]
        if bias { parameters.append(("bias", TensorSlot(.parameter, [outFeatures]))) }
        return ModuleInstance("Linear", .linear(inFeatures: inFeatures, outFeatures: outFeatures), parameters: parameters)
    }

    static func embedding(_ numEmbeddings: Int, _ embeddingDim: Int) -> ModuleInstance {
        ModuleInstance(
            "Embedding", .embedding(numEmbeddings: numEmbeddings, embeddingDim: embeddingDim),
            parameters: [("weight", TensorSlot(.parameter, [numEmbeddings, embeddingDim]))])
    }

    static func layerNorm(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true)
        -> ModuleInstance
    {
        var parameters: [(String, TensorSlot)] = []
        if elementwiseAffine {
            parameters.append(("weight", TensorSlot(.parameter, normalizedShape, constant: true)))
            if bias { parameters.append(("bias", TensorSlot(.parameter, normalizedShape, constant: true))) }
        }
        return ModuleInstance("LayerNorm", .layerNorm(normalizedShape: normalizedShape, eps: eps), parameters: parameters)
    }

    static func sequential(_ children: [(String, ModuleInstance)], typeName: String = "Sequential") -> ModuleInstance {
        ModuleInstance(typeName, .sequential, children: children)
    }
}
