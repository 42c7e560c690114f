import GraphIR

/// Why a report gives no verdict. Each is a reason a CI gate must not read as a pass (exit 3).
public enum UndecidedReason: String, Sendable {
    /// No set of two or more branches was found or given: there is nothing to compare.
    case noBranches = "no-branches"
    /// A finding says the input cannot show whether it is a problem (ONNX's merged equal tensors).
    case inputCannotTell = "input-cannot-tell"
    /// No finding, but the input does not record storage identity, so sharing under other names
    /// (`.data =`, `nn.Parameter(other)`) would not show.
    case storageNotRecorded = "storage-not-recorded"
    /// A branch that was asked for has no ops in the trace: the module exists but did not run for this
    /// input (an auxiliary classifier in an eval-mode export), so nothing about it can be checked.
    case branchNotRun = "branch-not-run"
    /// Parallel parts inside one branch found automatically share storage: whether they are meant to be
    /// heads of their own (then it is the bug) or one head applied per level on purpose is not in the graph.
    case partsShareStorage = "parts-share-storage"
    /// The model has more separate results than discovery tells apart: the heads from the 64th result on are
    /// one branch, and whether they read or train one another is not checked.
    case tooManyResults = "too-many-results"
    /// The branches are towers (one input each), and where they meet one tower's returned result (or the features
    /// of a tower with a result of its own) is read beside a tower that returns nothing of its own: that tower's head
    /// reading another tower (a leak), or a fusion meant to read it (`Discovery.towerResultRead`).
    case towerResultRead = "tower-result-read"
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
    /// Branches with no op in the graph: they did not run for the traced input.
    public var branchesNotRun: [String] = []
    /// Branches found automatically that group several heads only because there are too many results to tell
    /// apart (see `Discovery.lumped`).
    public var lumped: [String] { discovery?.lumpedNames ?? [] }
    /// Modules whose trainable parameters no op read (outermost first): they did not run for the traced
    /// input — an auxiliary head in an eval-mode export — so nothing about them was checked.
    public var modulesNotRun: [String] = []
    /// With no branches found: the outermost modules that ran ops with parameters, none of whose results reaches
    /// the model's outputs (an auxiliary head only a loss reads; see `Analyzer.modulesUnreached`).
    public var modulesUnreached: [String] = []
    /// How the model ran when traced: what to say of modules that did not run (training-only heads in eval mode;
    /// in training mode, parts the forward skipped for the inputs given).
    public var mode: Mode = .train
    /// Those of `modulesNotRun` that are the module object a sibling slot that ran is, with that slot: one
    /// object in several slots of a container, called through one of them (`heads[task](t)` over `[head] * 3`).
    public var notRunSameObject: [String: String] = [:]

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
        if !branchesNotRun.isEmpty { return .branchNotRun }
        if findings.contains(where: { $0.severity == .warning && $0.sharedStorage?.within != nil }) { return .partsShareStorage }
        if !lumped.isEmpty { return .tooManyResults }
        if let read = discovery?.towerResultRead, !read.bySlot { return .towerResultRead }
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
