/// Where an ONNX node came from in the PyTorch model, as the exporters record it.
enum ONNXScope {
    /// The dynamo exporter's `pkg.torch.onnx.name_scopes` (`['', 'trunk', 'trunk.conv0', 'convolution']`)
    /// and `pkg.torch.onnx.class_hierarchy` (`['…DenseNet', 'torch.nn.modules.conv.Conv2d', …]`): the last
    /// scope is the FX node, the one before it the module.
    static func fromMetadata(_ metadata: [String: String]) -> (path: String, type: String)? {
        guard let scopes = metadata["pkg.torch.onnx.name_scopes"].map(pythonStrings), scopes.count >= 2 else { return nil }
        let path = scopes[scopes.count - 2]
        let classes = metadata["pkg.torch.onnx.class_hierarchy"].map(pythonStrings) ?? []
        let type = classes.count >= scopes.count - 1 ? classes[scopes.count - 2] : ""
        return (path, type.split(separator: ".").last.map(String.init) ?? type)
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

    /// The strings of a Python list literal of strings (`['a', "b"]`), scanned as UTF-8 bytes: this runs
    /// for every node of a model, and the lists repeat every enclosing scope.
    static func pythonStrings(_ text: String) -> [String] {
        var text = text
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable(scanStrings) ?? []
    }

    private static func scanStrings(_ bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var result: [String] = []
        var i = 0
        while i < bytes.count {
            let quote = bytes[i]
            i += 1
            guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { continue }
            var current: [UInt8] = []
            while i < bytes.count, bytes[i] != quote {
                if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
                current.append(bytes[i])
                i += 1
            }
            result.append(String(decoding: current, as: UTF8.self))
            i += 1
        }
        return result
    }
}
