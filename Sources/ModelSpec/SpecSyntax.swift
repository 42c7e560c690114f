import FormatSupport
import GraphIR

/// Where something stands in the spec — its JSON path, line and column — kept after decoding so that an
/// error found while building or tracing still points at what the user must edit.
struct SourceLocation: Sendable {
    let text: String
    let line: Int

    init(_ cursor: JSONCursor) {
        text = cursor.location
        line = cursor.line
    }

    func error(_ message: String) -> InputError { InputError(location: text, message: message) }
}

/// A model spec as written, decoded and checked against the format before anything is built: plain
/// values with source locations, no JSON left in them.
struct SpecDocument {
    var name: String
    var mode: Mode
    /// `let` bindings, built on first use (they may be written in any order).
    var bindings: [String: ModuleSyntax]
    var model: ModuleSyntax
    var modelLocation: SourceLocation
    var inputs: [(shape: [Int], dtype: DType)]
    var branches: [String]
    var allowShared: [String]
}

/// A module expression: a reference to a binding (the same object), a deep copy of one, or a new module.
indirect enum ModuleSyntax {
    /// `{"ref": "let_name.child[1:]"}`.
    case ref(ModulePathExpression, SourceLocation)
    /// `{"copy": "let_name"}`.
    case copy(ModulePathExpression, SourceLocation)
    /// A built-in layer or torchvision architecture, parsed into a prototype that each build copies, and
    /// the parameters it ties to other modules' tensors.
    case layer(prototype: ModuleInstance, ties: [Tie])
    /// `Sequential`, `ModuleList` or `ModuleDict` around its children.
    case container(type: String, kind: ModuleKind, children: [Child])
    /// `{"type": "Module", "class": …, "children": …, "forward": …}`.
    case custom(className: String, children: [Child], forward: ForwardProgram)

    /// A named child and where it is declared (the line that aliases, copies or builds it).
    struct Child {
        var name: String
        var module: ModuleSyntax
        var location: SourceLocation
    }

    /// `"tie": {"weight": "embedding.weight"}`: a parameter that is another module's tensor.
    struct Tie {
        var parameter: String
        var owner: ModulePathExpression
        var ownerParameter: String
        var location: SourceLocation
    }
}
