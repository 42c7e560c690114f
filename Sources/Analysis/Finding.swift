import GraphIR

public enum Severity: String, Sendable, Comparable {
    case error
    case warning
    case info

    private var rank: Int { self == .error ? 0 : self == .warning ? 1 : 2 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One problem, said the way a compiler says it: a one-line message, the places, and what to do.
public struct Finding: Sendable, Equatable {
    public var rule: String
    public var severity: Severity
    public var message: String
    /// The branches involved, by prefix.
    public var branches: [String]
    /// The modules involved (for shared storage: one path per branch per shared module).
    public var modules: [String]
    /// How many parameter/buffer storages the finding concerns.
    public var storages: Int
    /// How many graph edges (op inputs, state reads/writes) the finding concerns.
    public var edges: Int
    /// One line per place, printed under the message.
    public var details: [String]
    public var notes: [String]
    public var help: String?
    /// The storages the finding concerns (for drawing; not part of the JSON report).
    public var storageIDs: [StorageID]
    /// For shared storage: the groups of equivalent modules, each drawn in its own colour.
    public var groups: [StorageGroup]
    /// The input cannot tell whether this is a problem (ONNX merges equal tensors): no verdict either way.
    public var undecidable: Bool

    public init(
        rule: String, severity: Severity, message: String, branches: [String], modules: [String] = [], storages: Int = 0,
        edges: Int = 0, details: [String] = [], notes: [String] = [], help: String? = nil, storageIDs: [StorageID] = [],
        groups: [StorageGroup] = [], undecidable: Bool = false
    ) {
        self.rule = rule
        self.severity = severity
        self.message = message
        self.branches = branches
        self.modules = modules
        self.storages = storages
        self.edges = edges
        self.details = details
        self.notes = notes
        self.help = help
        self.storageIDs = storageIDs
        self.groups = groups
        self.undecidable = undecidable
    }
}

/// Storages shared among branches under equivalent module paths (`branch1.norm5 ≡ branch2.norm5`).
public struct StorageGroup: Sendable, Equatable {
    /// `branch1.norm5 ≡ branch2.norm5 (BatchNorm2d)`.
    public var label: String
    /// One module path per branch.
    public var paths: [String]
    public var storages: [StorageID]
}

/// Why a report gives no verdict. Each is a reason a CI gate must not read as a pass (exit 3).
public enum UndecidedReason: String, Sendable {
    /// No set of two or more branches was found or given: there is nothing to compare.
    case noBranches = "no-branches"
    /// A finding says the input cannot show whether it is a problem (ONNX's merged equal tensors).
    case inputCannotTell = "input-cannot-tell"
    /// No finding, but the input does not record storage identity, so sharing under other names
    /// (`.data =`, `nn.Parameter(other)`) would not show.
    case storageNotRecorded = "storage-not-recorded"
}

/// The analyzer's answer for one graph.
public struct Report: Sendable {
    public var model: String
    public var branches: [String]
    /// Whether the branches were found by the analyzer (true) or given by the user or the spec (false).
    public var branchesDiscovered: Bool
    public var findings: [Finding]
    /// Which branch each op and tensor belongs to, as the rules saw it (the renderer colours by it).
    public var branchMap: BranchMap?
    /// What the input knows about parameter and buffer identity: what a verdict rests on.
    public var basis: StorageIdentity
    /// How the branches were found (nil when they were given).
    public var discovery: Discovery?

    public init(
        model: String, branches: [String], branchesDiscovered: Bool, findings: [Finding], branchMap: BranchMap? = nil,
        basis: StorageIdentity = .exact, discovery: Discovery? = nil
    ) {
        self.model = model
        self.branches = branches
        self.branchesDiscovered = branchesDiscovered
        self.findings = findings
        self.branchMap = branchMap
        self.basis = basis
        self.discovery = discovery
    }

    /// Why there is no verdict, or nil when there is one. An error finding is a verdict ("not
    /// independent") whatever else is unknown.
    public var undecidedReason: UndecidedReason? {
        if findings.contains(where: { $0.severity == .error }) { return nil }
        if branches.count < 2 { return .noBranches }
        if findings.contains(where: \.undecidable) { return .inputCannotTell }
        if !basis.recordsStorage { return .storageNotRecorded }
        return nil
    }

    /// true: independent; false: an error finding says not; nil: no verdict (see `undecidedReason`).
    public var independent: Bool? {
        if findings.contains(where: { $0.severity == .error }) { return false }
        return undecidedReason == nil ? true : nil
    }

    public var errorCount: Int { findings.filter { $0.severity == .error }.count }
}
