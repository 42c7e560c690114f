import FormatSupport
import GraphIR

/// What a rule found, as data: one case per rule, each defined in its rule's file beside the words it is
/// said in. Evidence names everything it refers to (module paths, tensor names, op ids) so that it can be
/// reported without the graph.
public enum Evidence: Sendable, Equatable {
    case sharedStorage(SharedStorage)
    case duplicateComputation(DuplicateComputation)
    case sharedInitializer(SharedInitializer)
    case mergedBranch(MergedBranch)
    case crossBranchDependency(CrossBranchDependency)
    case gradientLeak(GradientLeak)
    case inplaceHazard(InplaceHazard)
    case moduleReuse(ModuleReuse)
    case equalCopies(EqualCopies)
    case unregisteredModule(UnregisteredModule)

    public var content: any EvidenceContent {
        switch self {
        case .sharedStorage(let e): return e
        case .duplicateComputation(let e): return e
        case .sharedInitializer(let e): return e
        case .mergedBranch(let e): return e
        case .crossBranchDependency(let e): return e
        case .gradientLeak(let e): return e
        case .inplaceHazard(let e): return e
        case .moduleReuse(let e): return e
        case .equalCopies(let e): return e
        case .unregisteredModule(let e): return e
        }
    }

    public var rule: String { type(of: content).rule.id }

    /// The input cannot tell whether the thing found is a problem: findings of names-only inputs.
    public var undecidable: Bool {
        switch self {
        case .sharedInitializer, .mergedBranch: return true
        case .crossBranchDependency(let e): return e.detachUnknown || e.frozenUnknown
        case .gradientLeak(let e): return e.detachUnknown || e.frozenUnknown
        default: return false
        }
    }
}

/// What every case of evidence can say about itself: its words, and the places and tensors it concerns.
public protocol EvidenceContent: Sendable {
    /// The rule that finds this evidence.
    static var rule: RuleDescription { get }
    var wording: Wording { get }
    var branches: [String] { get }
    var modules: [String] { get }
    var storages: [StorageRef] { get }
    var edgeCount: Int { get }
    var places: [NodeRef] { get }
}

extension EvidenceContent {
    public var storages: [StorageRef] { [] }
    public var edgeCount: Int { 0 }
    public var places: [NodeRef] { [] }
}

/// A parameter or buffer as evidence names it: its storage, every name it goes by, and its kind.
public struct StorageRef: Sendable, Equatable {
    public var id: StorageID
    /// The input's own id for the storage (the trace's storage id, the initializer's name).
    public var key: String
    public var names: [String]
    public var kind: StorageKind

    public init(_ id: StorageID, in graph: Graph) {
        self.id = id
        key = graph[id].id
        names = graph[id].names
        kind = graph[id].kind
    }

    public var name: String { names[0] }
}

/// An op as evidence names it: its id in the input, its kind, the module path of its call site, and the
/// user's `file:line` when the input records it.
public struct NodeRef: Sendable, Equatable {
    public var id: NodeID
    public var name: String
    public var op: String
    public var module: String
    public var source: String?
    /// The line of the input that states the op (a model spec's statement), where it has one.
    public var line: Int?

    public init(_ id: NodeID, in graph: Graph) {
        let node = graph[id]
        self.id = id
        name = node.id
        op = node.op
        module = node.module
        source = node.source
        line = node.line
    }

    /// The module path as a sentence names it.
    public var place: String { module.isEmpty ? "the model's forward" : module }

    /// Where the op is, for a report line: its module, the user's line when the input records it (the Python
    /// line of a trace, the statement of a model spec), its node name (`relu in head1 at model.py:12 (n7)`).
    public var located: String { "in \(place)" + (source.map { " at \($0)" } ?? line.map { " at line \($0)" } ?? "") + " (\(name))" }
}

/// Module paths that are one module seen from several branches (`branch1.norm5 ≡ branch2.norm5`), and the
/// storages under them.
public struct ModuleGroup: Sendable, Equatable {
    /// One module path per branch.
    public var paths: [String]
    /// The module class, when the input records it.
    public var type: String
    /// The paths name one module object (known from the trace's module table).
    public var sameObject: Bool
    public var storages: [StorageRef]

    /// `branch1.norm5 ≡ branch2.norm5 (BatchNorm2d)`.
    public var label: String { equivalence(paths) + (type.isEmpty ? "" : " (\(type))") }
    public var parameterCount: Int { storages.filter { $0.kind == .parameter }.count }
}
