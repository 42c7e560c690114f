import FormatSupport

/// A reference to a module as Python code would write it: `original_model.features[-2:]`,
/// `heads[0]`, `branch1.denseblock4`. Attribute access, integer indexing and slicing, as on
/// `nn.Sequential` / `nn.ModuleList`.
struct ModulePathExpression {
    enum Step: Equatable {
        case name(String)
        case index(Int)
        case slice(start: Int?, stop: Int?)
    }

    let text: String
    let steps: [Step]

    /// Parses `text`; `location` locates errors.
    init(_ text: String, at location: SourceLocation) throws(InputError) {
        self.text = text
        var steps: [Step] = []
        var chars = Substring(text)
        func fail(_ why: String) -> InputError { location.error("invalid module path \"\(text)\": \(why)") }
        func readName() -> String {
            let name = chars.prefix { $0 == "_" || $0.isLetter || $0.isNumber }
            chars = chars.dropFirst(name.count)
            return String(name)
        }
        let first = readName()
        guard !first.isEmpty else { throw fail("expected a name") }
        steps.append(.name(first))
        while let c = chars.first {
            if c == "." {
                chars = chars.dropFirst()
                let name = readName()
                guard !name.isEmpty else { throw fail("expected a name after '.'") }
                steps.append(.name(name))
            } else if c == "[" {
                guard let close = chars.firstIndex(of: "]") else { throw fail("missing ']'") }
                let inside = chars[chars.index(after: chars.startIndex)..<close]
                chars = chars[chars.index(after: close)...]
                let parts = inside.split(separator: ":", omittingEmptySubsequences: false)
                func bound(_ s: Substring) throws(InputError) -> Int? {
                    let trimmed = s.trimmingCharacters(in: " ")
                    if trimmed.isEmpty { return nil }
                    guard let v = Int(trimmed) else { throw fail("'\(trimmed)' is not an integer") }
                    return v
                }
                switch parts.count {
                case 1:
                    guard let i = try bound(parts[0]) else { throw fail("empty index") }
                    steps.append(.index(i))
                case 2:
                    steps.append(.slice(start: try bound(parts[0]), stop: try bound(parts[1])))
                default:
                    throw fail("slices with a step are not supported")
                }
            } else {
                throw fail("unexpected character '\(c)'")
            }
        }
        self.steps = steps
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}

extension ModuleInstance {
    /// Follows one step of a path expression. Indexing and slicing follow Python (negative indices count
    /// from the end) and apply to Sequential and ModuleList only.
    func resolve(_ step: ModulePathExpression.Step) -> Result<(name: String?, module: ModuleInstance), ResolveFailure> {
        switch step {
        case .name(let name):
            guard let child = child(name) else { return .failure(.noChild(name)) }
            return .success((name, child))
        case .index(let i):
            guard isIndexable else { return .failure(.notIndexable) }
            let n = children.count
            let index = i < 0 ? n + i : i
            guard index >= 0, index < n else { return .failure(.outOfRange(i, n)) }
            return .success((children[index].name, children[index].module))
        case .slice(let start, let stop):
            guard isIndexable else { return .failure(.notIndexable) }
            let n = children.count
            func clamp(_ v: Int?, _ fallback: Int) -> Int {
                guard let v else { return fallback }
                return Swift.max(0, Swift.min(n, v < 0 ? n + v : v))
            }
            let lo = clamp(start, 0)
            let hi = clamp(stop, n)
            return .success((nil, slice(lo < hi ? Array(lo..<hi) : [])))
        }
    }

    private var isIndexable: Bool {
        switch kind {
        case .sequential, .moduleList: return true
        default: return false
        }
    }
}

enum ResolveFailure: Error {
    case noChild(String)
    case notIndexable
    case outOfRange(Int, Int)

    func describe(in module: ModuleInstance) -> String {
        switch self {
        case .noChild(let name):
            let known = module.children.map(\.name)
            let list = known.isEmpty ? "it has no submodules" : "its submodules are " + known.prefix(12).joined(separator: ", ") + (known.count > 12 ? ", …" : "")
            return "\(module.typeName) has no submodule \"\(name)\" (\(list))"
        case .notIndexable:
            return "\(module.typeName) cannot be indexed or sliced (only Sequential and ModuleList can)"
        case .outOfRange(let i, let n):
            return "index \(i) is out of range for \(module.typeName) of length \(n)"
        }
    }
}
