/// A JSON node together with the path that led to it, so that a decoder can complain about exactly the
/// spot a user must edit: `$.model.forward.body[3].args[0] (line 41, column 18)`. The path is a parent
/// chain that is only turned into text when an error is reported.
public struct JSONCursor: Sendable {
    public let node: JSONNode
    let path: JSONPath?
    let source: JSONSource

    public init(root: JSONNode, source: JSONSource) {
        self.node = root
        self.path = nil
        self.source = source
    }

    private init(node: JSONNode, path: JSONPath?, source: JSONSource) {
        self.node = node
        self.path = path
        self.source = source
    }

    /// `$.a.b[3]`-style path to this node.
    public var pathText: String { path?.text ?? "$" }

    /// Path plus line and column.
    public var location: String {
        let (line, column) = source.lineColumn(of: node.offset)
        return "\(pathText) (line \(line), column \(column))"
    }

    /// The 1-based line the node starts on.
    public var line: Int { source.lineColumn(of: node.offset).line }

    public func error(_ message: String) -> InputError {
        InputError(location: location, message: message)
    }

    // MARK: - Structure

    public var isNull: Bool { if case .null = node.value { return true } else { return false } }

    /// The members of an object, in document order.
    public func members() throws(InputError) -> [(key: String, value: JSONCursor)] {
        guard case .object(let members) = node.value else { throw error("expected an object, found \(node.kindName)") }
        return members.map { ($0.key, child($0.value, .key($0.key))) }
    }

    public func elements() throws(InputError) -> [JSONCursor] {
        guard case .array(let items) = node.value else { throw error("expected an array, found \(node.kindName)") }
        var result: [JSONCursor] = []
        result.reserveCapacity(items.count)
        for (i, item) in items.enumerated() { result.append(child(item, .index(i))) }
        return result
    }

    /// The member `key` of an object, or nil when absent (or explicitly null).
    public func optional(_ key: String) throws(InputError) -> JSONCursor? {
        guard case .object(let members) = node.value else { throw error("expected an object, found \(node.kindName)") }
        for member in members where member.key == key {
            if case .null = member.value.value { return nil }
            return child(member.value, .key(key))
        }
        return nil
    }

    public func required(_ key: String) throws(InputError) -> JSONCursor {
        guard let value = try optional(key) else { throw error("missing required key \"\(key)\"") }
        return value
    }

    /// The same object without `key`, for handing the rest of it to a parser that does not know that key.
    public func removing(_ key: String) -> JSONCursor {
        guard case .object(let members) = node.value, members.contains(where: { $0.key == key }) else { return self }
        return JSONCursor(node: JSONNode(.object(members.filter { $0.key != key }), offset: node.offset), path: path, source: source)
    }

    /// Rejects keys outside `allowed`: a misspelt option must not be silently ignored.
    public func checkKeys(_ allowed: Set<String>) throws(InputError) {
        guard case .object(let members) = node.value else { throw error("expected an object, found \(node.kindName)") }
        for member in members where !allowed.contains(member.key) {
            let expected = allowed.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            throw child(member.value, .key(member.key)).error("unknown key \"\(member.key)\" (expected one of \(expected))")
        }
    }

    private func child(_ node: JSONNode, _ component: JSONPath.Component) -> JSONCursor {
        JSONCursor(node: node, path: JSONPath(parent: path, component: component), source: source)
    }

    // MARK: - Scalars

    public func string() throws(InputError) -> String {
        guard case .string(let s) = node.value else { throw error("expected a string, found \(node.kindName)") }
        return s
    }

    public func bool() throws(InputError) -> Bool {
        guard case .bool(let b) = node.value else { throw error("expected true or false, found \(node.kindName)") }
        return b
    }

    public func int() throws(InputError) -> Int {
        switch node.value {
        case .int(let i): return i
        case .double(let d): if let i = JSONScanner.exactInteger(d) { return i }
        default: break
        }
        throw error("expected an integer, found \(node.kindName)")
    }

    public func double() throws(InputError) -> Double {
        switch node.value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw error("expected a number, found \(node.kindName)")
        }
    }

    public func strings() throws(InputError) -> [String] {
        var result: [String] = []
        for element in try elements() { result.append(try element.string()) }
        return result
    }

    public func ints() throws(InputError) -> [Int] {
        var result: [Int] = []
        for element in try elements() { result.append(try element.int()) }
        return result
    }
}

/// A path from the document root, stored leaf-to-root and rendered on demand.
final class JSONPath: Sendable {
    enum Component: Sendable {
        case key(String)
        case index(Int)
    }

    let parent: JSONPath?
    let component: Component

    init(parent: JSONPath?, component: Component) {
        self.parent = parent
        self.component = component
    }

    var text: String {
        var components: [Component] = []
        var cursor: JSONPath? = self
        while let node = cursor {
            components.append(node.component)
            cursor = node.parent
        }
        var result = "$"
        for component in components.reversed() {
            switch component {
            case .index(let i): result += "[\(i)]"
            case .key(let k): result += JSONPathText.component(key: k)
            }
        }
        return result
    }
}

enum JSONPathText {
    /// `.name` for a key that reads as an identifier, `["odd key"]` otherwise.
    static func component(key: String) -> String {
        isPlainIdentifier(key) ? ".\(key)" : "[\(JSONWriter.quoted(key))]"
    }

    private static func isPlainIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }
}
