/// Where an op belongs: one branch, the trunk every branch shares, or a join where branches meet.
/// A word-sized value (the branch map holds one per op), read through `branch` rather than by sign.
public struct Region: Hashable, Sendable {
    private let raw: Int

    private init(raw: Int) { self.raw = raw }

    public static func branch(_ index: Int) -> Region {
        precondition(index >= 0, "a branch index is never negative")
        return Region(raw: index)
    }

    public static let trunk = Region(raw: -1)
    public static let join = Region(raw: -2)

    /// The branch's index, or nil for the trunk and joins.
    public var branch: Int? { raw >= 0 ? raw : nil }
}

extension BranchSet {
    /// Whether the region is one of these branches (never for the trunk or a join).
    public func contains(_ region: Region) -> Bool { region.branch.map(contains) ?? false }
}
