/// torchvision's architectures with their exact topology, class names and module names, so that a spec
/// that says `{"type": "densenet121"}` traces to the same ops and parameter names as
/// `torchvision.models.densenet121()`.
enum TorchvisionModels {
    static let names = ["densenet121", "resnet18", "resnet50"]

    static func make(_ name: String, numClasses: Int) -> ModuleInstance? {
        switch name {
        case "densenet121": return denseNet(growthRate: 32, blockConfig: [6, 12, 24, 16], initFeatures: 64, bnSize: 4, numClasses: numClasses)
        case "resnet18": return resNet(bottleneck: false, layers: [2, 2, 2, 2], numClasses: numClasses)
        case "resnet50": return resNet(bottleneck: true, layers: [3, 4, 6, 3], numClasses: numClasses)
        default: return nil
        }
    }

    // MARK: - DenseNet

    static func denseNet(growthRate: Int, blockConfig: [Int], initFeatures: Int, bnSize: Int, numClasses: Int) -> ModuleInstance {
        var features: [(String, ModuleInstance)] = [
            ("conv0", Layers.conv2d(3, initFeatures, kernel: 7, stride: 2, padding: 3, bias: false)),
            ("norm0", Layers.batchNorm2d(initFeatures)),
            ("relu0", Layers.relu(inplace: true)),
            ("pool0", Layers.maxPool2d(kernel: [3, 3], stride: [2, 2], padding: [1, 1])),
        ]
        var numFeatures = initFeatures
        for (i, numLayers) in blockConfig.enumerated() {
            var layers: [(String, ModuleInstance)] = []
            for j in 0..<numLayers {
                layers.append(("denselayer\(j + 1)", denseLayer(numFeatures + j * growthRate, growthRate: growthRate, bnSize: bnSize)))
            }
            features.append(("denseblock\(i + 1)", ModuleInstance("_DenseBlock", .denseBlock, children: layers)))
            numFeatures += numLayers * growthRate
            if i != blockConfig.count - 1 {
                let transition = Layers.sequential(
                    [
                        ("norm", Layers.batchNorm2d(numFeatures)),
                        ("relu", Layers.relu(inplace: true)),
                        ("conv", Layers.conv2d(numFeatures, numFeatures / 2, kernel: 1, bias: false)),
                        ("pool", Layers.avgPool2d(kernel: [2, 2], stride: [2, 2])),
                    ], typeName: "_Transition")
                features.append(("transition\(i + 1)", transition))
                numFeatures /= 2
            }
        }
        features.append(("norm5", Layers.batchNorm2d(numFeatures)))
        return ModuleInstance(
            "DenseNet", .denseNet,
            children: [("features", Layers.sequential(features)), ("classifier", Layers.linear(numFeatures, numClasses))])
    }

    private static func denseLayer(_ inputFeatures: Int, growthRate: Int, bnSize: Int) -> ModuleInstance {
        ModuleInstance(
            "_DenseLayer", .denseLayer,
            children: [
                ("norm1", Layers.batchNorm2d(inputFeatures)),
                ("relu1", Layers.relu(inplace: true)),
                ("conv1", Layers.conv2d(inputFeatures, bnSize * growthRate, kernel: 1, bias: false)),
                ("norm2", Layers.batchNorm2d(bnSize * growthRate)),
                ("relu2", Layers.relu(inplace: true)),
                ("conv2", Layers.conv2d(bnSize * growthRate, growthRate, kernel: 3, padding: 1, bias: false)),
            ])
    }

    // MARK: - ResNet

    static func resNet(bottleneck: Bool, layers: [Int], numClasses: Int) -> ModuleInstance {
        let expansion = bottleneck ? 4 : 1
        var inplanes = 64
        var children: [(String, ModuleInstance)] = [
            ("conv1", Layers.conv2d(3, 64, kernel: 7, stride: 2, padding: 3, bias: false)),
            ("bn1", Layers.batchNorm2d(64)),
            ("relu", Layers.relu(inplace: true)),
            ("maxpool", Layers.maxPool2d(kernel: [3, 3], stride: [2, 2], padding: [1, 1])),
        ]
        for (i, (planes, count)) in zip([64, 128, 256, 512], layers).enumerated() {
            let stride = i == 0 ? 1 : 2
            var blocks: [(String, ModuleInstance)] = []
            for b in 0..<count {
                let blockStride = b == 0 ? stride : 1
                var downsample: ModuleInstance?
                if b == 0 && (blockStride != 1 || inplanes != planes * expansion) {
                    downsample = Layers.sequential([
                        ("0", Layers.conv2d(inplanes, planes * expansion, kernel: 1, stride: blockStride, bias: false)),
                        ("1", Layers.batchNorm2d(planes * expansion)),
                    ])
                }
                let block = bottleneck
                    ? bottleneckBlock(inplanes, planes, stride: blockStride, downsample: downsample)
                    : basicBlock(inplanes, planes, stride: blockStride, downsample: downsample)
                blocks.append((String(b), block))
                inplanes = planes * expansion
            }
            children.append(("layer\(i + 1)", Layers.sequential(blocks)))
        }
        children.append(("avgpool", Layers.adaptiveAvgPool2d([1, 1])))
        children.append(("fc", Layers.linear(512 * expansion, numClasses)))
        return ModuleInstance("ResNet", .resNet, children: children)
    }

    private static func basicBlock(_ inplanes: Int, _ planes: Int, stride: Int, downsample: ModuleInstance?) -> ModuleInstance {
        var children: [(String, ModuleInstance)] = [
            ("conv1", Layers.conv2d(inplanes, planes, kernel: 3, stride: stride, padding: 1, bias: false)),
            ("bn1", Layers.batchNorm2d(planes)),
            ("relu", Layers.relu(inplace: true)),
            ("conv2", Layers.conv2d(planes, planes, kernel: 3, padding: 1, bias: false)),
            ("bn2", Layers.batchNorm2d(planes)),
        ]
        if let downsample { children.append(("downsample", downsample)) }
        return ModuleInstance("BasicBlock", .residualBlock, children: children)
    }

    private static func bottleneckBlock(_ inplanes: Int, _ planes: Int, stride: Int, downsample: ModuleInstance?) -> ModuleInstance {
        let width = planes
        var children: [(String, ModuleInstance)] = [
            ("conv1", Layers.conv2d(inplanes, width, kernel: 1, bias: false)),
            ("bn1", Layers.batchNorm2d(width)),
            ("conv2", Layers.conv2d(width, width, kernel: 3, stride: stride, padding: 1, bias: false)),
            ("bn2", Layers.batchNorm2d(width)),
            ("conv3", Layers.conv2d(width, planes * 4, kernel: 1, bias: false)),
            ("bn3", Layers.batchNorm2d(planes * 4)),
            ("relu", Layers.relu(inplace: true)),
        ]
        if let downsample { children.append(("downsample", downsample)) }
        return ModuleInstance("Bottleneck", .residualBlock, children: children)
    }
}
