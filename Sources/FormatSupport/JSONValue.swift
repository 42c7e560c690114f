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

    /// The top-level `"format"` string our documents carry, used to tell one kind of JSON input from another.
    public var formatTag: String? {
        guard case .object(let members) = value,
              let tag = members.first(where: { $0.key == "format" })?.value,
              case .string(let s) = tag.value
        else { return nil }
        return s
    }

    public func hasKey(_ key: String) -> Bool {
        guard case .object(let members) = value else { return false }
        return members.contains { $0.key == key }
    }

    /// What a user would call this kind of value in an error message.
    public var kindName: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
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
