/// A strict RFC 8259 pull parser over bytes: the caller asks for the value it expects next and the
/// scanner checks the syntax as it goes. Readers of large files (traces of a million ops) use it directly
/// and build nothing but their own result; `JSONParser` uses it to build a `JSONNode` tree for the small
/// documents that are easier to read as a tree. It keeps the path to the current value, so every error
/// names `$.nodes[12].inputs[0]` and a line and column, at no cost until an error is reported.
public struct JSONScanner {
    public static let maxDepth = 512

    public enum Kind: Sendable {
        case object, array, string, number, bool, null

        /// What a user would call this kind of value in an error message.
        public var spoken: String {
            switch self {
            case .null: return "null"
            case .bool: return "a boolean"
            case .number: return "a number"
            case .string: return "a string"
            case .array: return "an array"
            case .object: return "an object"
            }
        }
    }

    /// A number written with a fraction or exponent that is still a whole number (`2.0`, `1e3`), as an
    /// integer; nil beyond ±9·10^15, where doubles stop being exact.
    static func exactInteger(_ d: Double) -> Int? {
        d == d.rounded() && abs(d) < 9.0e15 ? Int(d) : nil
    }

    /// One open container: how many members or elements it has had, and (objects) the current key.
    fileprivate struct Frame {
        var isObject: Bool
        var count = 0
        var key = ""
    }

    /// The document, borrowed for the scanner's lifetime (see `scan`): reading through a pointer keeps
    /// the per-byte loops free of array bounds checks and reference counting.
    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    private var frames: [Frame] = []
    /// Where the value being read starts, for locating errors about it.
    public private(set) var valueOffset = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // A UTF-8 byte order mark is tolerated, as editors on some systems write one.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
        skipWhitespace()
        valueOffset = pos
    }

    /// Runs `body` with a scanner at the start of `bytes`. The scanner must not outlive the call.
    public static func scan<R>(_ bytes: [UInt8], _ body: (inout JSONScanner) throws(InputError) -> R) throws(InputError) -> R {
        try bytes.withUnsafeBufferPointer { (buffer) throws(InputError) -> R in
            var scanner = JSONScanner(buffer)
            return try body(&scanner)
        }
    }

    // MARK: - Errors

    /// `$.a.b[3]`: the path of the value being read.
    public var pathText: String {
        var result = "$"
        for frame in frames {
            if frame.isObject {
                if frame.count > 0 { result += JSONPathText.component(key: frame.key) }
            } else if frame.count > 0 {
                result += "[\(frame.count - 1)]"
            }
        }
        return result
    }

    /// An error about the value being read, located by path, line and column.
    public func error(_ message: String) -> InputError {
        error(message, at: valueOffset)
    }

    /// An error about something at `offset` on the current path: an object whose members have been read
    /// ("missing required key") or one of its keys.
    public func error(_ message: String, at offset: Int) -> InputError {
        let (line, column) = JSONSource.lineColumn(of: offset, in: bytes)
        return InputError(location: "\(pathText) (line \(line), column \(column))", message: message)
    }

    /// A syntax error, located by line and column.
    func syntaxError(_ message: String, at offset: Int? = nil) -> InputError {
        let (line, column) = JSONSource.lineColumn(of: offset ?? pos, in: bytes)
        return InputError(location: "line \(line), column \(column)", message: "malformed JSON: \(message)")
    }

    // MARK: - Structure

    /// What the next value is, without consuming it.
    public func peek() throws(InputError) -> Kind {
        guard pos < bytes.count else { throw syntaxError("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw syntaxError("unexpected character '\(printable(bytes[pos]))'")
        }
    }

    /// Consumes `{`; then call `nextKey()` until it returns nil.
    public mutating func beginObject() throws(InputError) {
        try expectContainer(UInt8(ascii: "{"), isObject: true, what: "an object")
    }

    /// Consumes `[`; then call `nextElement()` until it returns false.
    public mutating func beginArray() throws(InputError) {
        try expectContainer(UInt8(ascii: "["), isObject: false, what: "an array")
    }

    private mutating func expectContainer(_ open: UInt8, isObject: Bool, what: String) throws(InputError) {
        let kind = try peek()
        guard bytes[pos] == open else { throw error("expected \(what), found \(kind.spoken)") }
        guard frames.count < Self.maxDepth else { throw syntaxError("nesting deeper than \(Self.maxDepth) levels") }
        pos += 1
        frames.append(Frame(isObject: isObject))
    }

    /// The next key of the innermost object, positioned at its value; nil (and the object closed) at `}`.
    /// Duplicate keys are the caller's to reject: only it knows whether it keeps the keys.
    public mutating func nextKey() throws(InputError) -> String? {
        guard try atNextMember() else { return nil }
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw syntaxError("expected a string key") }
        let keyOffset = pos
        let key = try scanString()
        try enterMember(key: key, at: keyOffset)
        return key
    }

    /// Like `nextKey()` for an object whose keys are the cases of `Key`: the key is matched as bytes,
    /// without making a String (this runs for every key of a million-op trace). An unknown key, or one
    /// that `seen` (the caller's record of this object's keys, one bit per case) already has, is an error.
    public mutating func nextKey<Key>(in table: JSONKeyTable<Key>, seen: inout UInt64) throws(InputError) -> Key? {
        guard try atNextMember() else { return nil }
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw syntaxError("expected a string key") }
        let keyOffset = pos
        let index: Int
        if let i = table.match(bytes, from: pos + 1) {
            pos += table.utf8[i].count + 2
            try enterMember(key: table.names[i], at: keyOffset)
            index = i
        } else {
            // Escaped, or not ours: read it as text to judge it.
            let key = try scanString()
            try enterMember(key: key, at: keyOffset)
            guard let i = table.names.firstIndex(of: key) else {
                let expected = table.names.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                throw error("unknown key \"\(key)\" (expected one of \(expected))")
            }
            index = i
        }
        let bit: UInt64 = 1 << UInt64(index)
        guard seen & bit == 0 else { throw error("duplicate key \"\(table.names[index])\"", at: keyOffset) }
        seen |= bit
        return table.keys[index]
    }

    /// Consumes the `,` before a member, or the `}` that closes the object (false).
    private mutating func atNextMember() throws(InputError) -> Bool {
        skipWhitespace()
        guard pos < bytes.count else { throw syntaxError("unexpected end of input inside an object") }
        if bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            frames.removeLast()
            skipWhitespace()
            return false
        }
        if frames[frames.count - 1].count > 0 {
            guard bytes[pos] == UInt8(ascii: ",") else { throw syntaxError("expected ',' or '}' in an object") }
            pos += 1
            skipWhitespace()
        }
        return true
    }

    /// After a key: the colon, then positioned at the member's value.
    private mutating func enterMember(key: String, at keyOffset: Int) throws(InputError) {
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw syntaxError("expected ':' after key") }
        pos += 1
        skipWhitespace()
        let top = frames.count - 1
        frames[top].count += 1
        frames[top].key = key
        valueOffset = pos
        keyStart = keyOffset
    }

    /// Where the last key returned by `nextKey()` starts (for "duplicate key" errors).
    public private(set) var keyStart = 0

    /// Whether the innermost array has another element, positioned at it; false (and the array closed)
    /// at `]`.
    public mutating func nextElement() throws(InputError) -> Bool {
        skipWhitespace()
        guard pos < bytes.count else { throw syntaxError("unexpected end of input inside an array") }
        let top = frames.count - 1
        if bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            frames.removeLast()
            skipWhitespace()
            return false
        }
        if frames[top].count > 0 {
            guard bytes[pos] == UInt8(ascii: ",") else { throw syntaxError("expected ',' or ']' in an array") }
            pos += 1
            skipWhitespace()
        }
        frames[top].count += 1
        valueOffset = pos
        return true
    }

    /// A place in the document to come back to: a reader that meets a section before the sections it
    /// refers to skips it and rereads it from here at the end, instead of holding it unresolved in memory.
    public struct Checkpoint {
        fileprivate let pos: Int
        fileprivate let frames: [Frame]
        fileprivate let valueOffset: Int
    }

    /// The place of the value about to be read.
    public var checkpoint: Checkpoint { Checkpoint(pos: pos, frames: frames, valueOffset: valueOffset) }

    public mutating func restore(_ checkpoint: Checkpoint) {
        pos = checkpoint.pos
        frames = checkpoint.frames
        valueOffset = checkpoint.valueOffset
    }

    /// Where the scanner is, between values: at the `,` or closing bracket after the value just read.
    public var position: Int { pos }

    public var byteCount: Int { bytes.count }

    /// A guess at a boundary between two elements of the array being read, at or after `offset`: the
    /// offset of a `,` between a `}` and a `{`. Only a guess — the bytes might sit inside a string — so
    /// whoever splits there must confirm it by reading up to it from the array's start.
    public func likelyElementBoundary(from offset: Int) -> Int? {
        var i = max(offset, pos)
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "}") {
                var j = i + 1
                while j < bytes.count, Self.isWhitespace(bytes[j]) { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: ",") {
                    var k = j + 1
                    while k < bytes.count, Self.isWhitespace(bytes[k]) { k += 1 }
                    if k < bytes.count, bytes[k] == UInt8(ascii: "{") { return j }
                }
                i = j
            } else {
                i += 1
            }
        }
        return nil
    }

    /// A second scanner inside the same array, at `offset` (a `,` before an element): it reads the rest
    /// of the array on another thread. Its element indices count from 1, so it is for reading, not for
    /// reporting: errors there are found again by reading in order.
    public func fork(at offset: Int) -> JSONScanner {
        var copy = self
        copy.pos = offset
        copy.valueOffset = offset
        copy.frames[copy.frames.count - 1].count = max(copy.frames[copy.frames.count - 1].count, 1)
        return copy
    }

    /// Checks that nothing but whitespace follows the document.
    public func finish() throws(InputError) {
        if pos < bytes.count { throw syntaxError("unexpected content after the JSON document") }
    }

    /// Reads and discards the next value, checking its syntax.
    public mutating func skipValue() throws(InputError) {
        switch try peek() {
        case .object:
            try beginObject()
            while try nextKey() != nil { try skipValue() }
        case .array:
            try beginArray()
            while try nextElement() { try skipValue() }
        case .string: _ = try string()
        case .number: _ = try number()
        case .bool: _ = try bool()
        case .null: try null()
        }
    }

    // MARK: - Scalars

    public mutating func string() throws(InputError) -> String {
        let kind = try peek()
        guard kind == .string else { throw error("expected a string, found \(kind.spoken)") }
        let s = try scanString()
        skipWhitespace()
        return s
    }

    public mutating func bool() throws(InputError) -> Bool {
        let kind = try peek()
        guard kind == .bool else { throw error("expected true or false, found \(kind.spoken)") }
        let value = bytes[pos] == UInt8(ascii: "t")
        try expectLiteral(value ? "true" : "false")
        return value
    }

    public mutating func null() throws(InputError) {
        let kind = try peek()
        guard kind == .null else { throw error("expected null, found \(kind.spoken)") }
        try expectLiteral("null")
    }

    /// Consumes a `null` if that is what comes next (an optional member written as null).
    public mutating func skipNull() throws(InputError) -> Bool {
        guard try peek() == .null else { return false }
        try expectLiteral("null")
        return true
    }

    public enum Number: Sendable {
        case int(Int)
        case double(Double)
    }

    public mutating func number() throws(InputError) -> Number {
        let kind = try peek()
        guard kind == .number else { throw error("expected a number, found \(kind.spoken)") }
        let n = try scanNumber()
        skipWhitespace()
        return n
    }

    /// An integer; a number with a fraction or out of `Int`'s range is an error at its place.
    public mutating func int() throws(InputError) -> Int {
        let kind = try peek()
        guard kind == .number else { throw error("expected an integer, found \(kind.spoken)") }
        switch try number() {
        case .int(let i): return i
        case .double(let d):
            guard let i = Self.exactInteger(d) else { throw error("expected an integer, found a number") }
            return i
        }
    }
}
