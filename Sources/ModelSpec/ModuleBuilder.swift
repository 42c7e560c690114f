import FormatSupport

/// Turns module expressions into module objects with Python's identity semantics: `ref` names an
/// existing object (aliasing), `copy` deep-copies it, `type` builds a new one. `let` bindings are built
/// on first use, so they may be written in any order; a binding that needs itself is a cycle error.
struct ModuleBuilder {
    private let bindings: [String: JSONCursor]
    private var built: [String: ModuleInstance] = [:]
    private var inProgress: [String] = []

    init(bindings: [(key: String, value: JSONCursor)]) {
        var map: [String: JSONCursor] = [:]
        for (key, value) in bindings { map[key] = value }
        self.bindings = map
    }

    mutating func build(_ cursor: JSONCursor) throws(InputError) -> ModuleInstance {
        if let ref = try cursor.optional("ref") {
            try cursor.checkKeys(["ref"])
            return try resolve(ref)
        }
        if let copy = try cursor.optional("copy") {
            try cursor.checkKeys(["copy"])
            return try resolve(copy).deepCopy()
        }
        guard let typeCursor = try cursor.optional("type") else {
            throw cursor.error("a module needs \"type\", \"ref\" or \"copy\"")
        }
        let type = try typeCursor.string()
        switch type {
        case "Sequential", "ModuleList", "ModuleDict":
            return try container(type, cursor)
        case "Module":
            try cursor.checkKeys(["type", "class", "children", "forward"])
            let className = try cursor.optional("class")?.string() ?? "Module"
            let children = try namedChildren(try cursor.optional("children"), allowList: false)
            let program = try ForwardProgram(try cursor.required("forward"))
            return ModuleInstance(className, .custom(program), children: children)
        default:
            if TorchvisionModels.names.contains(type) {
                try cursor.checkKeys(["type", "num_classes"])
                let numClasses = try LayerOptions(cursor: cursor).int("num_classes", default: 1000)
                guard numClasses > 0 else { throw try cursor.required("num_classes").error("num_classes must be positive") }
                return TorchvisionModels.make(type, numClasses: numClasses)!
            }
            if let layer = try LayerCatalog.make(type, cursor.removing("tie")) {
                if let ties = try cursor.optional("tie") { try tie(layer, ties) }
                return layer
            }
            let known = (LayerCatalog.names + ["Sequential", "ModuleList", "ModuleDict", "Module"] + TorchvisionModels.names)
            throw typeCursor.error("unknown layer type \"\(type)\" (known: \(known.joined(separator: ", ")))")
        }
    }

    private mutating func container(_ type: String, _ cursor: JSONCursor) throws(InputError) -> ModuleInstance {
        try cursor.checkKeys(["type", "children"])
        let childrenCursor = try cursor.optional("children")
        let children = try namedChildren(childrenCursor, allowList: type != "ModuleDict")
        if type == "ModuleList", let childrenCursor, case .object = childrenCursor.node.value {
            throw childrenCursor.error("ModuleList children are a list")
        }
        let kind: ModuleKind = type == "Sequential" ? .sequential : type == "ModuleList" ? .moduleList : .moduleDict
        return ModuleInstance(type, kind, children: children)
    }

    /// Children as `{"name": module}` or, where allowed, `[module, …]` named "0", "1", ….
    private mutating func namedChildren(_ cursor: JSONCursor?, allowList: Bool) throws(InputError) -> [(String, ModuleInstance)] {
        guard let cursor else { return [] }
        var result: [(String, ModuleInstance)] = []
        if case .array = cursor.node.value {
            guard allowList else { throw cursor.error("children must be an object of name: module") }
            for (i, element) in try cursor.elements().enumerated() { result.append((String(i), try build(element))) }
            return result
        }
        for (name, element) in try cursor.members() {
            guard !name.isEmpty, !name.contains(".") else { throw element.error("module name \"\(name)\" must be non-empty and contain no '.'") }
            result.append((name, try build(element)))
        }
        return result
    }

    /// `"tie": {"weight": "embedding.weight"}`: the layer's parameter is another module's tensor — weight
    /// tying, `self.lm_head.weight = self.embedding.weight` in Python.
    private mutating func tie(_ layer: ModuleInstance, _ ties: JSONCursor) throws(InputError) {
        for (name, target) in try ties.members() {
            let text = try target.string()
            guard let dot = text.lastIndex(of: ".") else { throw target.error("expected MODULE.PARAMETER, e.g. \"embedding.weight\"") }
            let owner = try resolve(text: String(text[..<dot]), at: target)
            let parameter = String(text[text.index(after: dot)...])
            guard let slot = owner.parameters.first(where: { $0.name == parameter })?.slot else {
                throw target.error("\(owner.typeName) has no parameter \"\(parameter)\"")
            }
            guard let own = layer.parameters.first(where: { $0.name == name }) else {
                throw target.error("\(layer.typeName) has no parameter \"\(name)\" to tie")
            }
            guard own.slot.shape == slot.shape else {
                throw target.error("cannot tie \(layer.typeName).\(name) of shape \(own.slot.shape) to \(text) of shape \(slot.shape)")
            }
            _ = layer.tie(name, to: slot)
        }
    }

    /// Resolves `let_name.child[1:]…` to a module object.
    private mutating func resolve(_ cursor: JSONCursor) throws(InputError) -> ModuleInstance {
        try resolve(text: try cursor.string(), at: cursor)
    }

    private mutating func resolve(text: String, at cursor: JSONCursor) throws(InputError) -> ModuleInstance {
        let path = try ModulePathExpression(text, at: cursor)
        guard case .name(let root) = path.steps[0] else { throw cursor.error("a reference starts with a name") }
        var module = try binding(root, cursor)
        for step in path.steps.dropFirst() {
            switch module.resolve(step) {
            case .success(let next): module = next.module
            case .failure(let failure): throw cursor.error("in \"\(path.text)\": \(failure.describe(in: module))")
            }
        }
        return module
    }

    private mutating func binding(_ name: String, _ cursor: JSONCursor) throws(InputError) -> ModuleInstance {
        if let done = built[name] { return done }
        guard let definition = bindings[name] else {
            let known = bindings.keys.sorted()
            throw cursor.error("reference to unknown module \"\(name)\"" + (known.isEmpty ? " (no \"let\" bindings are defined)" : " (defined: \(known.joined(separator: ", ")))"))
        }
        if inProgress.contains(name) {
            throw cursor.error("cycle in module references: \((inProgress + [name]).joined(separator: " → "))")
        }
        inProgress.append(name)
        let module = try build(definition)
        inProgress.removeLast()
        built[name] = module
        return module
    }
}
