import FormatSupport
import GraphIR

public enum Severity: String, Sendable, Comparable {
    case error
    case warning
    case info

    private var rank: Int { self == .error ? 0 : self == .warning ? 1 : 2 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One problem: what was found, as data (`evidence`), and how severe it is. The words a person reads are
/// made from the evidence by the rule that found it, so the text report, the JSON report, SARIF and the
/// picture all say the same thing about the same facts.
public struct Finding: Sendable, Equatable {
    public var severity: Severity
    public let evidence: Evidence
    public let wording: Wording

    public init(severity: Severity, evidence: Evidence) {
        self.severity = severity
        self.evidence = evidence
        wording = evidence.content.wording
    }

    public var rule: String { evidence.rule }
    public var message: String { wording.message }
    public var details: [String] { wording.details }
    public var notes: [String] { wording.notes }
    public var help: String? { wording.help }

    /// The input cannot tell whether this is a problem (ONNX merges equal tensors): no verdict either way.
    public var undecidable: Bool { evidence.undecidable }
    /// The branches involved, by name.
    public var branches: [String] { evidence.content.branches }
    /// The modules involved (for shared storage: one path per branch per shared module).
    public var modules: [String] { evidence.content.modules }
    /// The parameters and buffers the finding concerns.
    public var storages: [StorageRef] { evidence.content.storages }
    /// How many graph edges (op inputs, state reads/writes) the finding concerns.
    public var edgeCount: Int { evidence.content.edgeCount }
    /// The ops a reader should look at first: where in the user's code the finding shows.
    public var places: [NodeRef] { evidence.content.places }

}

/// One accessor per evidence case, so that a reader writes `finding.sharedStorage?.groups`, not a switch.
extension Finding {
    public var sharedStorage: Evidence.SharedStorage? { if case .sharedStorage(let e) = evidence { e } else { nil } }
    public var duplicateComputation: Evidence.DuplicateComputation? {
        if case .duplicateComputation(let e) = evidence { e } else { nil }
    }
    public var sharedInitializer: Evidence.SharedInitializer? { if case .sharedInitializer(let e) = evidence { e } else { nil } }
    public var mergedBranch: Evidence.MergedBranch? { if case .mergedBranch(let e) = evidence { e } else { nil } }
    public var crossBranchDependency: Evidence.CrossBranchDependency? {
        if case .crossBranchDependency(let e) = evidence { e } else { nil }
    }
    public var gradientLeak: Evidence.GradientLeak? { if case .gradientLeak(let e) = evidence { e } else { nil } }
    public var inplaceHazard: Evidence.InplaceHazard? { if case .inplaceHazard(let e) = evidence { e } else { nil } }
    public var moduleReuse: Evidence.ModuleReuse? { if case .moduleReuse(let e) = evidence { e } else { nil } }
    public var equalCopies: Evidence.EqualCopies? { if case .equalCopies(let e) = evidence { e } else { nil } }
    public var unregisteredModule: Evidence.UnregisteredModule? {
        if case .unregisteredModule(let e) = evidence { e } else { nil }
    }
}

/// A finding in words, the way a compiler prints a diagnostic: a one-line message, one line per place,
/// notes that explain, and what to do.
public struct Wording: Sendable, Equatable {
    public var message: String
    public var details: [String]
    public var notes: [String]
    public var help: String?

    public init(message: String, details: [String] = [], notes: [String] = [], help: String? = nil) {
        self.message = message
        self.details = details
        self.notes = notes
        self.help = help
    }
}
