/// What a module does when called. Built-in layers carry the options that decide their shapes; the
/// torchvision blocks carry the control flow of their `forward`; `custom` runs a forward program from
/// the spec.
enum ModuleKind {
    case conv2d(Conv2dOptions)
    case batchNorm2d(BatchNormOptions)
    case relu(inplace: Bool)
    case maxPool2d(PoolOptions)
    case avgPool2d(PoolOptions)
    case adaptiveAvgPool2d(outputSize: [Int])
    case linear(inFeatures: Int, outFeatures: Int)
    case dropout(p: Double, inplace: Bool)
    case flatten(startDim: Int, endDim: Int)
    case identity
    case embedding(numEmbeddings: Int, embeddingDim: Int)
    case layerNorm(normalizedShape: [Int], eps: Double)
    case sequential
    case moduleList
    case moduleDict
    case custom(ForwardProgram)
    case denseNet
    case denseBlock
    case denseLayer
    case resNet
    case residualBlock
}

struct Conv2dOptions {
    var inChannels: Int
    var outChannels: Int
    var kernelSize: [Int]
    var stride: [Int]
    var padding: [Int]
    var dilation: [Int]
    var groups: Int
}

struct BatchNormOptions {
    var numFeatures: Int
    var eps: Double
    var momentum: Double
    var affine: Bool
    var trackRunningStats: Bool
}

struct PoolOptions {
    var kernelSize: [Int]
    var stride: [Int]
    var padding: [Int]
    var dilation: [Int]
    var ceilMode: Bool
}
