/// A parsed JSON document node that remembers where it came from, so that every later complaint about
/// it can name a line and column. Objects keep their key order: the order is meaningful in our formats
/// (module children, forward statements) and keeps output deterministic.
public struct JSONNode: Sendable {
    public enum Value: Sendable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case array([JSONNode])
        case object([(key: String, value: JSONNode)])
    }

    public let value: Value
    /// Byte offset of the node's first character in the source.
    public let offset: Int

    public init(_ value: Value, offset: Int) {
        self.value = value
        self.offset = offset
    }

    /// What a user would call this kind of value in an error message (the scanner's words).
    public var kindName: String {
        switch value {
        case .null: return JSONScanner.Kind.null.spoken
        case .bool: return JSONScanner.Kind.bool.spoken
        case .int, .double: return JSONScanner.Kind.number.spoken
        case .string: return JSONScanner.Kind.string.spoken
        case .array: return JSONScanner.Kind.array.spoken
        case .object: return JSONScanner.Kind.object.spoken
        }
    }
}

/// The bytes a document was parsed from, kept only to turn byte offsets into line and column.
public struct JSONSource: Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// 1-based line and column (in bytes) of `offset`.
    public func lineColumn(of offset: Int) -> (line: Int, column: Int) {
        bytes.withUnsafeBufferPointer { Self.lineColumn(of: offset, in: $0) }
    }

    static func lineColumn(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        let end = min(offset, bytes.count)
        var i = 0
        while i < end {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        return (line, end - lineStart + 1)
    }
}
