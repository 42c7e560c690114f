import GraphIR

/// Module paths from the TorchScript-based exporter's node names: `/branch1/denseblock4/norm1/BatchNormalization`.
///
/// Each scope names its module by the *unqualified* name, from the path's last non-numeric atom on (what
/// `torch.onnx` passes to the tracer): `heads.0.0` stays whole, but a ModuleDict's entry `tasks.seg` is `seg`, and
/// `tasks.seg.body.1` is `body.1` inside it. A module called again gets `_1`, `_2` on its own scope (`fc_1`).
/// So the path is rebuilt scope by scope from the parent's, and checked against the modules the initializers
/// name: a container the scopes leave out (the ModuleDict) is found there. Taking the scopes as paths would
/// put `tasks.seg`'s ops in a module `seg` that `--branch tasks.seg` never finds.
struct TorchScriptScopes {
    /// Modules that hold a named tensor, and their ancestors.
    private let known: Set<String>
    /// Known modules by their unqualified name.
    private let byUnqualified: [String: [String]]
    /// Every scope some node name opens (`/a`, `/a/fc`): a repeated call's `fc_1` is `fc` when `/a/fc` is one.
    private let scopes: Set<Substring>
    private var resolved: [Substring: String] = [:]

    init(nodeNames: [String], tensorNames: [String]) {
        var known = Set<String>()
        for name in tensorNames where !name.contains(":") && !name.contains("/") {
            let module = String(ModulePath.split(tensor: name).module)
            guard !module.isEmpty, known.insert(module).inserted else { continue }
            for ancestor in ModulePath.ancestors(of: module) { known.insert(String(ancestor)) }
        }
        self.known = known
        var byUnqualified: [String: [String]] = [:]
        for path in known.sorted() { byUnqualified[Self.unqualified(path), default: []].append(path) }
        self.byUnqualified = byUnqualified
        var scopes = Set<Substring>()
        for name in nodeNames where name.hasPrefix("/") {
            var index = name.index(after: name.startIndex)
            while let slash = name[index...].firstIndex(of: "/") {
                scopes.insert(name[..<slash])
                index = name.index(after: slash)
            }
        }
        self.scopes = scopes
    }

    /// The module path of the node named `name`, nil when the name is not a scoped one.
    mutating func modulePath(ofNode name: String) -> String? {
        guard name.hasPrefix("/") else { return nil }
        guard let slash = name.lastIndex(of: "/"), slash != name.startIndex else { return "" }
        return path(ofScope: name[..<slash])
    }

    private mutating func path(ofScope scope: Substring) -> String {
        if let hit = resolved[scope] { return hit }
        let slash = scope.lastIndex(of: "/")!
        let parentScope = scope[..<slash]
        let parent = parentScope.isEmpty ? "" : path(ofScope: parentScope)
        var component = scope[scope.index(after: slash)...]
        if let underscore = component.lastIndex(of: "_"), component.index(after: underscore) != component.endIndex,
           component[component.index(after: underscore)...].allSatisfy(\.isNumber),
           scopes.contains(Substring(parentScope + "/" + component[..<underscore]))
        {
            component = component[..<underscore]
        }
        let path = place(String(component), under: parent)
        resolved[scope] = path
        return path
    }

    /// The path of the module a scope names `component` inside the module at `parent`.
    private func place(_ component: String, under parent: String) -> String {
        let appended = parent.isEmpty ? component : parent + "." + component
        // A numbered child of a Sequential or ModuleList carries its parent's unqualified name: `body.1.0` in `a.body.1`.
        let outer = Self.unqualified(parent)
        let extended = !outer.isEmpty && component.hasPrefix(outer + ".") ? parent + component.dropFirst(outer.count) : nil
        if let extended, known.contains(extended) { return extended }
        if known.contains(appended) { return appended }
        // A container the scopes leave out: the one module below `parent` with this unqualified name.
        let below = (byUnqualified[component] ?? []).filter { ModulePath.isWithin($0, parent) && $0 != parent }
        if below.count == 1 { return below[0] }
        return extended ?? appended
    }

    /// A path from its last non-numeric atom on: `body.1.0` for `a.body.1.0`, `seg` for `tasks.seg`.
    static func unqualified(_ path: String) -> String {
        let atoms = path.split(separator: ".", omittingEmptySubsequences: false)
        guard let last = atoms.lastIndex(where: { !$0.allSatisfy(\.isNumber) || $0.isEmpty }) else { return path }
        return atoms[last...].joined(separator: ".")
    }
}
