import Analysis

/// One accessor per evidence case, so that a test reads `finding.sharedStorage?.groups` instead of a switch.
extension Finding {
    public var sharedStorage: Evidence.SharedStorage? { if case .sharedStorage(let e) = evidence { e } else { nil } }
    public var sharedInitializer: Evidence.SharedInitializer? { if case .sharedInitializer(let e) = evidence { e } else { nil } }
    public var mergedBranch: Evidence.MergedBranch? { if case .mergedBranch(let e) = evidence { e } else { nil } }
    public var crossBranchDependency: Evidence.CrossBranchDependency? {
        if case .crossBranchDependency(let e) = evidence { e } else { nil }
    }
    public var gradientLeak: Evidence.GradientLeak? { if case .gradientLeak(let e) = evidence { e } else { nil } }
    public var inplaceHazard: Evidence.InplaceHazard? { if case .inplaceHazard(let e) = evidence { e } else { nil } }
    public var moduleReuse: Evidence.ModuleReuse? { if case .moduleReuse(let e) = evidence { e } else { nil } }
}
