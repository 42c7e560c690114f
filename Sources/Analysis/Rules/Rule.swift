import GraphIR

/// What a rule is, in words: the text `explain` prints and the docs are made from, plus tiny model specs
/// that must and must not trigger it (run as tests, so the documentation cannot drift from the code).
public struct RuleDescription: Sendable {
    public var id: String
    public var severity: Severity
    /// One line: what it finds.
    public var summary: String
    /// Why it matters, for a PyTorch user.
    public var rationale: String
    /// How to fix it.
    public var fix: String
    public var triggeringExamples: [String]
    public var nonTriggeringExamples: [String]
    /// The first example of each kind as the PyTorch a user writes (a pytest runs it against real torch).
    public var pytorch: PyTorchExample
}

/// A rule's example in PyTorch: `example.py` defining `Model` that triggers the rule, the same file that
/// does not, and the shell commands that check it (from the folder holding `example.py`).
public struct PyTorchExample: Sendable {
    public var triggering: String
    public var nonTriggering: String
    public var commands: [String]
}

/// Everything the rules share about one graph, computed once.
public struct AnalysisContext: Sendable {
    public let graph: Graph
    public let map: BranchMap
    /// Storages whose sharing is declared intended (by the user, or a tie the model declares).
    public let allowed: Set<Int>
    let grouping: ModuleGrouping
    /// Per node: whether backward from the outputs runs through it (`Graph.reachedByBackward`), for the
    /// rules that ask it (cross-branch-dependency, inplace-hazard): one sweep per analysis.
    let backward: [Bool]

    public init(graph: Graph, branches: [String], allowed: Set<Int> = []) {
        self.init(graph: graph, branches: branches.map { Branch(name: $0) }, allowed: allowed)
    }

    public init(graph: Graph, branches: [Branch], allowed: Set<Int> = []) {
        self.init(graph: graph, branches: branches, allowed: allowed, backward: graph.reachedByBackward())
    }

    private init(graph: Graph, branches: [Branch], allowed: Set<Int>, backward: [Bool]) {
        self.graph = graph
        self.allowed = allowed
        map = BranchMap(graph: graph, branches: branches, backward: backward)
        grouping = ModuleGrouping(graph: graph, map: map)
        self.backward = backward
    }

    /// The same graph and declared sharing with other branches; the backward sweep, which does not depend
    /// on them, is not made again.
    func with(branches: [String]) -> AnalysisContext { with(branches: branches.map { Branch(name: $0) }) }

    func with(branches: [Branch]) -> AnalysisContext {
        AnalysisContext(graph: graph, branches: branches, allowed: allowed, backward: backward)
    }
}

public protocol Rule: Sendable {
    static var description: RuleDescription { get }
    func check(_ context: AnalysisContext) -> [Finding]
}

/// Every rule, in the order findings are reported.
public let allRules: [any Rule] = [
    SharedStorageRule(), DuplicateComputationRule(), SharedInitializerRule(), MergedBranchRule(), CrossBranchDependencyRule(), GradientLeakRule(),
    InplaceHazardRule(), ModuleReuseRule(), EqualCopiesRule(), UnregisteredModuleRule(),
]
