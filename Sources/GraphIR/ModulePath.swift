/// How dotted module paths nest, said once. PyTorch names modules by dotted paths
/// (`branch1.denseblock4.denselayer1`; "" is the model itself) and tensors by their module's path and an
/// attribute (`branch1.norm5.running_mean`). Paths stay `String`s in the graph, where they are compared by
/// the million; the walking up and splitting lives here.
public enum ModulePath {
    /// The enclosing module: `a.b` for `a.b.c`, "" for a top-level `a`, nil for the model itself.
    public static func parent(of path: String) -> Substring? {
        guard !path.isEmpty else { return nil }
        guard let dot = path.utf8.lastIndex(of: UInt8(ascii: ".")) else { return path[path.startIndex..<path.startIndex] }
        return path[..<dot]
    }

    /// The enclosing modules of `path`, nearest first, the model itself ("") left out: `a.b`, `a` for `a.b.c`.
    public static func ancestors(of path: String) -> Ancestors { Ancestors(rest: Substring(path)) }

    public struct Ancestors: Sequence, IteratorProtocol {
        var rest: Substring

        public mutating func next() -> Substring? {
            guard let dot = rest.utf8.lastIndex(of: UInt8(ascii: ".")) else { return nil }
            rest = rest[..<dot]
            return rest
        }
    }

    /// A tensor name as its module and attribute: (`a.b`, `weight`) for `a.b.weight`, ("", `w`) for `w`.
    public static func split(tensor name: String) -> (module: Substring, attribute: Substring) {
        guard let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")) else { return (name.prefix(0), Substring(name)) }
        return (name[..<dot], name[name.index(after: dot)...])
    }

    /// Whether `path` is `prefix` itself or lies below it in the module tree (`a.b` is under `a`, `ab` is
    /// not). Compares bytes: module paths are identifiers, and this runs for every op against every branch.
    public static func isWithin(_ path: String, _ prefix: String) -> Bool {
        let path = path.utf8, prefix = prefix.utf8
        if prefix.isEmpty { return true }
        guard path.count >= prefix.count, path.starts(with: prefix) else { return false }
        if path.count == prefix.count { return true }
        return path[path.index(path.startIndex, offsetBy: prefix.count)] == UInt8(ascii: ".")
    }

    /// The deepest module that every path in `paths` lies in ("" when they part at the model itself).
    public static func common<S: Sequence>(_ paths: S) -> String where S.Element == String {
        var common: String?
        var last: String?
        for path in paths where path != last {
            last = path
            guard var c = common else { common = path; continue }
            while !isWithin(path, c) { c = parent(of: c).map(String.init) ?? "" }
            common = c
            if c.isEmpty { return "" }
        }
        return common ?? ""
    }

    /// The child of `prefix` that `path` lies in (`b1.block4` for `b1.block4.conv.weight` under `b1`);
    /// `path` itself when it does not lie below `prefix`.
    public static func child(of prefix: String, containing path: String) -> String {
        guard isWithin(path, prefix), path.count > prefix.count else { return path }
        let rest = prefix.isEmpty ? Substring(path) : path.dropFirst(prefix.count + 1)
        guard let component = rest.split(separator: ".").first else { return prefix }
        return prefix.isEmpty ? String(component) : "\(prefix).\(component)"
    }
}

/// Whether `path` is `prefix` itself or lies below it (`ModulePath.isWithin`).
public func modulePath(_ path: String, isWithin prefix: String) -> Bool { ModulePath.isWithin(path, prefix) }
