/// Where an ONNX node came from in the PyTorch model, as the exporters record it.
enum ONNXScope {
    /// The dynamo exporter's `pkg.torch.onnx.name_scopes` (`['', 'trunk', 'trunk.conv0', 'convolution']`)
    /// and `pkg.torch.onnx.class_hierarchy` (`['…DenseNet', 'torch.nn.modules.conv.Conv2d', …]`): the last
    /// scope is the FX node, the one before it the module.
    static func fromMetadata(scopes: String?, classes: String?) -> (path: String, type: String)? {
        guard let scopes else { return nil }
        let scopeList = PythonStringList(scopes)
        guard scopeList.count >= 2 else { return nil }
        let path = scopeList[scopeList.count - 2]
        let classList = classes.map(PythonStringList.init)
        let type = classList.map { $0.count >= scopeList.count - 1 ? $0[scopeList.count - 2] : "" } ?? ""
        return (path, type.utf8.lastIndex(of: UInt8(ascii: ".")).map { String(type[type.index(after: $0)...]) } ?? type)
    }

    /// The TorchScript-based exporter's node names: `/branch1/denseblock4/denselayer1/norm1/BatchNormalization`.
    /// Modules reached through a ModuleList appear under their qualified name (`/heads.0/heads.0.0/Conv`),
    /// and a module object called again gets a `_1`, `_2` suffix (`heads.0.0_1`): the same module.
    static func fromNodeName(_ name: String) -> String? {
        guard name.hasPrefix("/") else { return nil }
        var path = ""
        for component in name.split(separator: "/").dropLast() {
            var part = String(component)
            if let underscore = part.lastIndex(of: "_"), part[part.index(after: underscore)...].allSatisfy(\.isNumber),
                part.index(after: underscore) != part.endIndex, !path.isEmpty, part.hasPrefix(path + ".")
            {
                part = String(part[..<underscore])
            }
            path = path.isEmpty || part.hasPrefix(path + ".") ? part : path + "." + part
        }
        return path
    }
}

/// A Python list literal of strings (`['a', "b"]`) scanned once as UTF-8 bytes for where each string lies;
/// only the strings asked for are made. This runs for every node of a model, and each list repeats every
/// enclosing scope, of which one is wanted.
struct PythonStringList {
    private let bytes: [UInt8]
    /// Per string: the offsets of its first byte and of its closing quote.
    private var spans: [(start: Int, end: Int)] = []

    init(_ text: String) {
        bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let quote = bytes[i]
            i += 1
            guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { continue }
            let start = i
            while i < bytes.count, bytes[i] != quote {
                i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
            }
            spans.append((start, min(i, bytes.count)))
            i += 1
        }
    }

    var count: Int { spans.count }

    subscript(index: Int) -> String {
        let span = spans[index]
        var text: [UInt8] = []
        text.reserveCapacity(span.end - span.start)
        var i = span.start
        while i < span.end {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < span.end { i += 1 }
            text.append(bytes[i])
            i += 1
        }
        return String(decoding: text, as: UTF8.self)
    }
}
