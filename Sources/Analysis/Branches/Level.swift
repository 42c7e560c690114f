import GraphIR

extension BranchDiscovery {
    /// One level's split: its heads with the results each reaches, and its trunk.
    struct Level {
        var parent: String
        var branches: [Branch]
        var reach: [UInt64]
        var trunk: [String]
        /// Ops under each branch's named member.
        var sizes: [Int] = []
        /// The results each branch reaches other than through the others (its reach but for a leak).
        var own: [UInt64] = []

        var covered: UInt64 { reach.reduce(0, |) }

        /// Branch `b` replaced by the branches of `inner`, a level inside it, in its place.
        mutating func replace(_ b: Int, with inner: Level) {
            branches.replaceSubrange(b...b, with: inner.branches)
            reach.replaceSubrange(b...b, with: inner.reach)
            sizes.replaceSubrange(b...b, with: inner.sizes)
            own.replaceSubrange(b...b, with: inner.own)
            trunk += inner.trunk
        }

        /// For each branch, the branch of `other` that reaches exactly the same results, when every branch has
        /// one; `byOwn`: the same results of its own (a leak from one body into another head's classifier does
        /// not unpair them).
        func pairing(with other: Level, byOwn: Bool = false) -> [Int]? {
            let (mine, theirs) = byOwn ? (own, other.own) : (reach, other.reach)
            guard other.branches.count == branches.count, Set(mine).count == mine.count else { return nil }
            let pairs = mine.compactMap { mask in theirs.firstIndex(of: mask) }
            return pairs.count == mine.count ? pairs : nil
        }
    }
}
