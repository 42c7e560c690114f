/// A tensor's element type as PyTorch names it (`torch.float32` is `float32`). The set is open — new
/// float8 and quantized types keep coming — so a type graphcheck has no name for keeps its own; what the
/// analysis asks of a type (is it floating point?) is answered here, not by matching strings elsewhere.
public struct DType: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String

    /// `name` as a producer wrote it; `torch.float32` and `float32` are the same type.
    public init(_ name: String) {
        self.name = name.hasPrefix("torch.") ? String(name.dropFirst("torch.".count)) : name
    }

    public init(stringLiteral name: String) { self.init(name) }

    public static let float32: DType = "float32"
    public static let float16: DType = "float16"
    public static let bfloat16: DType = "bfloat16"
    public static let float64: DType = "float64"
    public static let int64: DType = "int64"
    public static let int32: DType = "int32"
    public static let int16: DType = "int16"
    public static let int8: DType = "int8"
    public static let uint8: DType = "uint8"
    public static let bool: DType = "bool"

    /// Floating point (`float*`, `bfloat16`): the types a learned weight has.
    public var isFloatingPoint: Bool { name.hasPrefix("float") || name.hasPrefix("bfloat") }
    /// Integer types (`int*`, `uint*`): what an embedding takes as indices.
    public var isInteger: Bool { name.hasPrefix("int") || name.hasPrefix("uint") }

    public var description: String { name }
}
