import GraphIR

/// Module paths from the TorchScript-based exporter's node names: `/branch1/denseblock4/norm1/BatchNormalization`.
///
/// Each scope names its module by the *unqualified* name, from the path's last non-numeric atom on (what
/// `torch.onnx` passes to the tracer): `heads.0.0` stays whole, but a ModuleDict's entry `tasks.seg` is `seg`, and
/// `tasks.seg.body.1` is `body.1` inside it. A module called again gets `_1`, `_2` on its own scope (`fc_1`).
/// Two modules of one unqualified name called in the same scope are told apart the same way (`head1.hidden`,
/// then `head2.hidden`, are `hidden` and `hidden_1`). So the path is rebuilt scope by scope from the parent's,
/// checked against the modules whose tensors the scope's own nodes read, then those the initializers name: a
/// container the scopes leave out (the ModuleDict) is found there. Taking the scopes as paths would put
/// `tasks.seg`'s ops in a module `seg` that `--branch tasks.seg` never finds.
struct TorchScriptScopes {
    /// Modules that hold a named tensor, and their ancestors.
    private let known: Set<String>
    /// Known modules by their unqualified name.
    private let byUnqualified: [String: [String]]
    /// Every scope some node name opens (`/a`, `/a/fc`): a repeated call's `fc_1` is `fc` when `/a/fc` is one.
    private let scopes: Set<Substring>
    /// Per scope: the modules whose named tensors its own nodes read (`/hidden_1`: `head2.hidden`).
    private let reads: [Substring: Set<String>]
    private var resolved: [Substring: String] = [:]

    /// `nodes`: each node's name and inputs; `tensorNames`: the initializers'.
    init(nodes: [(name: String, inputs: [String])], tensorNames: [String]) {
        func module(of tensor: String) -> String? {
            guard !tensor.contains(":"), !tensor.contains("/") else { return nil }
            let module = String(ModulePath.split(tensor: tensor).module)
            return module.isEmpty ? nil : module
        }
        var known = Set<String>()
        for name in tensorNames {
            guard let module = module(of: name), known.insert(module).inserted else { continue }
            for ancestor in ModulePath.ancestors(of: module) { known.insert(String(ancestor)) }
        }
        self.known = known
        let tensors = Set(tensorNames)
        var reads: [Substring: Set<String>] = [:]
        for node in nodes where node.name.hasPrefix("/") {
            guard let slash = node.name.lastIndex(of: "/"), slash != node.name.startIndex else { continue }
            for input in node.inputs where tensors.contains(input) {
                if let module = module(of: input) { reads[node.name[..<slash], default: []].insert(module) }
            }
        }
        self.reads = reads
        var byUnqualified: [String: [String]] = [:]
        for path in known.sorted() { byUnqualified[Self.unqualified(path), default: []].append(path) }
        self.byUnqualified = byUnqualified
        var scopes = Set<Substring>()
        for name in nodes.map(\.name) where name.hasPrefix("/") {
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
        let written = scope[scope.index(after: slash)...]
        var component = written
        if let underscore = written.lastIndex(of: "_"), written.index(after: underscore) != written.endIndex,
           written[written.index(after: underscore)...].allSatisfy(\.isNumber)
        {
            component = written[..<underscore]
        }
        // The module the scope's own nodes read the tensors of, by its name, below the parent (a weight tied
        // from elsewhere is read across, not where the op runs).
        let read = reads[scope] ?? []
        let names = component == written ? [String(written)] : [String(written), String(component)]
        let path = names.lazy.compactMap { name -> String? in
            let matches = read.filter { Self.unqualified($0) == name && ModulePath.isWithin($0, parent) && $0 != parent }
            return matches.count == 1 ? matches.first : nil
        }.first ?? {
            let repeated = component != written && scopes.contains(Substring(parentScope + "/" + component))
            return place(String(repeated ? component : written), under: parent)
        }()
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
