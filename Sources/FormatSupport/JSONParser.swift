/// Parses a whole document into a `JSONNode` tree, for the documents that are easier to read as a tree
/// (model specs, configuration). The syntax, the depth limit and the error locations are `JSONScanner`'s;
/// this adds only the tree and the rejection of duplicate keys.
public enum JSONParser {
    public static let maxDepth = JSONScanner.maxDepth

    /// Parses a whole document; trailing non-whitespace is an error.
    public static func parse(_ bytes: [UInt8]) throws(InputError) -> JSONNode {
        try JSONScanner.scan(bytes) { (scanner) throws(InputError) -> JSONNode in
            let root = try value(&scanner)
            try scanner.finish()
            return root
        }
    }

    private static func value(_ scanner: inout JSONScanner) throws(InputError) -> JSONNode {
        let offset = scanner.valueOffset
        switch try scanner.peek() {
        case .object:
            try scanner.beginObject()
            var members: [(key: String, value: JSONNode)] = []
            var keys = DuplicateKeys()
            while let key = try scanner.nextKey() {
                guard keys.insert(key) else { throw scanner.syntaxError("duplicate key \"\(key)\"", at: scanner.keyStart) }
                members.append((key, try value(&scanner)))
            }
            return JSONNode(.object(members), offset: offset)
        case .array:
            try scanner.beginArray()
            var elements: [JSONNode] = []
            while try scanner.nextElement() { elements.append(try value(&scanner)) }
            return JSONNode(.array(elements), offset: offset)
        case .string: return JSONNode(.string(try scanner.string()), offset: offset)
        case .bool: return JSONNode(.bool(try scanner.bool()), offset: offset)
        case .null:
            try scanner.null()
            return JSONNode(.null, offset: offset)
        case .number:
            switch try scanner.number() {
            case .int(let i): return JSONNode(.int(i), offset: offset)
            case .double(let d): return JSONNode(.double(d), offset: offset)
            }
        }
    }
}
