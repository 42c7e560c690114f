/// Where an ONNX node came from in the PyTorch model, as the exporters record it.
enum ONNXScope {
    /// The dynamo exporter's `pkg.torch.onnx.name_scopes` (`['', 'trunk', 'trunk.conv0', 'convolution']`)
    /// and `pkg.torch.onnx.class_hierarchy` (`['…DenseNet', 'torch.nn.modules.conv.Conv2d', …]`): the last
    /// scope is the FX node, the one before it the module.
    static func fromMetadata(scopes: String?, classes: String?) -> (path: String, type: String)? {
        guard let scopes else { return nil }
        let count = PythonStringList.count(scopes)
        guard count >= 2, let path = PythonStringList.element(count - 2, of: scopes) else { return nil }
        var type = ""
        if let classes, PythonStringList.count(classes) >= count - 1 { type = PythonStringList.element(count - 2, of: classes) ?? "" }
        return (path, type.utf8.lastIndex(of: UInt8(ascii: ".")).map { String(type[type.index(after: $0)...]) } ?? type)
    }
}

/// A Python list literal of strings (`['a', "b"]`), read in place as UTF-8 bytes: how many strings it
/// holds, and one of them. This runs for every node of a model, and each list repeats every enclosing
/// scope, of which one is wanted: nothing else is copied.
enum PythonStringList {
    static func count(_ text: String) -> Int {
        var count = 0
        scan(text) { _ in count += 1; return true }
        return count
    }

    /// The string at `index`, unescaped, or nil when there are fewer.
    static func element(_ index: Int, of text: String) -> String? {
        var found: String?
        var seen = 0
        scan(text) { string in
            guard seen == index else { seen += 1; return true }
            var unescaped: [UInt8] = []
            unescaped.reserveCapacity(string.count)
            var i = 0
            while i < string.count {
                if string[i] == UInt8(ascii: "\\"), i + 1 < string.count { i += 1 }
                unescaped.append(string[i])
                i += 1
            }
            found = String(decoding: unescaped, as: UTF8.self)
            return false
        }
        return found
    }

    /// Calls `body` with each quoted string's bytes (escapes left in) until it returns false.
    private static func scan(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) {
        var text = text
        text.withUTF8 { bytes in
            var i = 0
            while i < bytes.count {
                let quote = bytes[i]
                i += 1
                guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { continue }
                let start = i
                while i < bytes.count, bytes[i] != quote {
                    i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard body(UnsafeBufferPointer(rebasing: bytes[start..<min(i, bytes.count)])) else { return }
                i += 1
            }
        }
    }
}
