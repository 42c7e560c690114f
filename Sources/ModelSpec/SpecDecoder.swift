import FormatSupport
import GraphIR

/// Decodes a model spec's JSON into a `SpecDocument`: every key, type and value checked where it stands
/// (an unknown keyword is an error, not a silently different model), before any module is built.
enum SpecDecoder {
    static func document(_ root: JSONCursor, format: String, version: Int) throws(InputError) -> SpecDocument {
        try root.checkKeys(["format", "version", "name", "mode", "let", "model", "inputs", "branches", "allow_shared", "description"])
        if let f = try root.optional("format"), try f.string() != format {
            throw f.error("expected \"format\": \"\(format)\"")
        }
        if let v = try root.optional("version"), try v.int() != version {
            throw v.error("unsupported model spec version \(try v.int()) (this graphcheck reads version \(version))")
        }
        let name = try root.optional("name")?.string() ?? "model"
        var mode = Mode.train
        if let modeCursor = try root.optional("mode") {
            guard let read = Mode(rawValue: try modeCursor.string()) else { throw modeCursor.error("mode must be \"train\" or \"eval\"") }
            mode = read
        }
        var bindings: [String: ModuleSyntax] = [:]
        for (key, value) in try root.optional("let")?.members() ?? [] { bindings[key] = try module(value) }
        let modelCursor = try root.required("model")
        let model = try module(modelCursor)
        return SpecDocument(
            name: name, mode: mode, bindings: bindings, model: model, modelLocation: SourceLocation(modelCursor),
            inputs: try inputs(try root.required("inputs")), branches: try root.optional("branches")?.strings() ?? [],
            allowShared: try root.optional("allow_shared")?.strings() ?? [])
    }

    private static func inputs(_ cursor: JSONCursor) throws(InputError) -> [(shape: [Int], dtype: DType)] {
        var inputs: [(shape: [Int], dtype: DType)] = []
        for input in try cursor.elements() {
            try input.checkKeys(["name", "shape", "dtype"])
            let shapeCursor = try input.required("shape")
            var shape: [Int] = []
            for dim in try shapeCursor.elements() {
                let d = try dim.int()
                guard d > 0, d <= 1 << 31 else { throw dim.error("an input dimension must be a positive integer, found \(d)") }
                shape.append(d)
            }
            guard shape.count <= 8 else { throw shapeCursor.error("inputs of more than 8 dimensions are not supported") }
            guard elementCount(shape) <= 1 << 40 else {
                throw shapeCursor.error("an input of \(ShapeRules.describe(shape)) has more than 2^40 elements")
            }
            inputs.append((shape, try input.optional("dtype").map { c throws(InputError) in DType(try c.string()) } ?? .float32))
        }
        guard !inputs.isEmpty else { throw cursor.error("the model needs at least one input") }
        return inputs
    }

    static func module(_ cursor: JSONCursor) throws(InputError) -> ModuleSyntax {
        if let ref = try cursor.optional("ref") {
            try cursor.checkKeys(["ref"])
            return .ref(try ModulePathExpression(try ref.string(), at: SourceLocation(ref)), SourceLocation(ref))
        }
        if let copy = try cursor.optional("copy") {
            try cursor.checkKeys(["copy"])
            return .copy(try ModulePathExpression(try copy.string(), at: SourceLocation(copy)), SourceLocation(copy))
        }
        guard let typeCursor = try cursor.optional("type") else {
            throw cursor.error("a module needs \"type\", \"ref\" or \"copy\"")
        }
        let type = try typeCursor.string()
        switch type {
        case "Sequential", "ModuleList", "ModuleDict":
            try cursor.checkKeys(["type", "children"])
            let childrenCursor = try cursor.optional("children")
            if type == "ModuleList", let childrenCursor, case .object = childrenCursor.node.value {
                throw childrenCursor.error("ModuleList children are a list")
            }
            let kind: ModuleKind = type == "Sequential" ? .sequential : type == "ModuleList" ? .moduleList : .moduleDict
            return .container(type: type, kind: kind, children: try children(childrenCursor, allowList: type != "ModuleDict"))
        case "Module":
            try cursor.checkKeys(["type", "class", "children", "forward"])
            return .custom(
                className: try cursor.optional("class")?.string() ?? "Module",
                children: try children(try cursor.optional("children"), allowList: false),
                forward: try ForwardProgram(try cursor.required("forward")))
        default:
            if TorchvisionModels.names.contains(type) {
                try cursor.checkKeys(["type", "num_classes"])
                let numClasses = try LayerOptions(cursor: cursor).int("num_classes", default: 1000)
                guard numClasses > 0 else { throw try cursor.required("num_classes").error("num_classes must be positive") }
                return .layer(prototype: TorchvisionModels.make(type, numClasses: numClasses)!, ties: [])
            }
            if let layer = try LayerCatalog.make(type, cursor.removing("tie")) {
                return .layer(prototype: layer, ties: try ties(try cursor.optional("tie"), of: layer))
            }
            let known = (LayerCatalog.names + ["Sequential", "ModuleList", "ModuleDict", "Module"] + TorchvisionModels.names)
            throw typeCursor.error("unknown layer type \"\(type)\" (known: \(known.joined(separator: ", ")))")
        }
    }

    /// Children as `{"name": module}` or, where allowed, `[module, …]` named "0", "1", ….
    private static func children(_ cursor: JSONCursor?, allowList: Bool) throws(InputError) -> [ModuleSyntax.Child] {
        guard let cursor else { return [] }
        var result: [ModuleSyntax.Child] = []
        if case .array = cursor.node.value {
            guard allowList else { throw cursor.error("children must be an object of name: module") }
            for (i, element) in try cursor.elements().enumerated() {
                result.append(ModuleSyntax.Child(name: String(i), module: try module(element), location: SourceLocation(element)))
            }
            return result
        }
        for (name, element) in try cursor.members() {
            guard !name.isEmpty, !name.contains(".") else { throw element.error("module name \"\(name)\" must be non-empty and contain no '.'") }
            result.append(ModuleSyntax.Child(name: name, module: try module(element), location: SourceLocation(element)))
        }
        return result
    }

    private static func ties(_ cursor: JSONCursor?, of layer: ModuleInstance) throws(InputError) -> [ModuleSyntax.Tie] {
        var ties: [ModuleSyntax.Tie] = []
        for (name, target) in try cursor?.members() ?? [] {
            let text = try target.string()
            guard let dot = text.lastIndex(of: ".") else { throw target.error("expected MODULE.PARAMETER, e.g. \"embedding.weight\"") }
            guard layer.parameters.contains(where: { $0.name == name }) else {
                throw target.error("\(layer.typeName) has no parameter \"\(name)\" to tie")
            }
            let location = SourceLocation(target)
            ties.append(ModuleSyntax.Tie(
                parameter: name, owner: try ModulePathExpression(String(text[..<dot]), at: location),
                ownerParameter: String(text[text.index(after: dot)...]), location: location))
        }
        return ties
    }
}
