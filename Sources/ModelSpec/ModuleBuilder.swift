import FormatSupport

/// Turns module syntax into module objects with Python's identity semantics: `ref` names an existing
/// object (aliasing), `copy` deep-copies it, a `type` builds a new one. `let` bindings are built on first
/// use, so they may be written in any order; a binding that needs itself is a cycle error.
struct ModuleBuilder {
    private let bindings: [String: ModuleSyntax]
    private var built: [String: ModuleInstance] = [:]
    private var inProgress: [String] = []

    init(bindings: [String: ModuleSyntax]) { self.bindings = bindings }

    mutating func build(_ syntax: ModuleSyntax) throws(InputError) -> ModuleInstance {
        switch syntax {
        case .ref(let path, let location):
            return try resolve(path, at: location)
        case .copy(let path, let location):
            return try resolve(path, at: location).deepCopy()
        case .layer(let prototype, let ties):
            let layer = prototype.deepCopy()
            for tie in ties { try self.tie(layer, tie) }
            return layer
        case .container(let type, let kind, let children):
            return declared(ModuleInstance(type, kind, children: try build(children)), children)
        case .custom(let className, let children, let forward):
            return declared(ModuleInstance(className, .custom(forward), children: try build(children)), children)
        }
    }

    private mutating func build(_ children: [ModuleSyntax.Child]) throws(InputError) -> [(String, ModuleInstance)] {
        var result: [(String, ModuleInstance)] = []
        for child in children { result.append((child.name, try build(child.module))) }
        return result
    }

    /// Remembers the line each child is declared on, for reports that point at the spec.
    private func declared(_ module: ModuleInstance, _ children: [ModuleSyntax.Child]) -> ModuleInstance {
        for child in children { module.childLines[child.name] = child.location.line }
        return module
    }

    /// `self.lm_head.weight = self.embedding.weight` in Python: the layer's parameter becomes the owner's.
    private mutating func tie(_ layer: ModuleInstance, _ tie: ModuleSyntax.Tie) throws(InputError) {
        let owner = try resolve(tie.owner, at: tie.location)
        guard let slot = owner.parameters.first(where: { $0.name == tie.ownerParameter })?.slot else {
            throw tie.location.error("\(owner.typeName) has no parameter \"\(tie.ownerParameter)\"")
        }
        let own = layer.parameters.first { $0.name == tie.parameter }!
        guard own.slot.shape == slot.shape else {
            throw tie.location.error(
                "cannot tie \(layer.typeName).\(tie.parameter) of shape \(own.slot.shape) to \(tie.owner.text).\(tie.ownerParameter) of shape \(slot.shape)")
        }
        _ = layer.tie(tie.parameter, to: slot)
    }

    /// Resolves `let_name.child[1:]…` to a module object.
    private mutating func resolve(_ path: ModulePathExpression, at location: SourceLocation) throws(InputError) -> ModuleInstance {
        guard case .name(let root) = path.steps[0] else { throw location.error("a reference starts with a name") }
        var module = try binding(root, location)
        for step in path.steps.dropFirst() {
            switch module.resolve(step) {
            case .success(let next): module = next.module
            case .failure(let failure): throw location.error("in \"\(path.text)\": \(failure.describe(in: module))")
            }
        }
        return module
    }

    private mutating func binding(_ name: String, _ location: SourceLocation) throws(InputError) -> ModuleInstance {
        if let done = built[name] { return done }
        guard let definition = bindings[name] else {
            let known = bindings.keys.sorted()
            throw location.error(
                "reference to unknown module \"\(name)\"" + (known.isEmpty ? " (no \"let\" bindings are defined)" : " (defined: \(known.joined(separator: ", ")))"))
        }
        if inProgress.contains(name) {
            throw location.error("cycle in module references: \((inProgress + [name]).joined(separator: " → "))")
        }
        inProgress.append(name)
        let module = try build(definition)
        inProgress.removeLast()
        built[name] = module
        return module
    }
}
