/// A set of branch indices as a bit mask. Branches are few (heads of one model), so 64 is the limit;
/// masks keep the per-node propagation in the analyzer to one word per node.
public struct BranchSet: Hashable, Sendable, Sequence {
    public static let capacity = 64
    public var bits: UInt64

    public init(bits: UInt64 = 0) { self.bits = bits }
    public init(_ index: Int) { bits = 1 << UInt64(index) }

    public var isEmpty: Bool { bits == 0 }
    public var count: Int { bits.nonzeroBitCount }
    /// False for indices outside 0..<64, such as the trunk and join markers of `BranchMap`.
    public func contains(_ index: Int) -> Bool { index >= 0 && index < BranchSet.capacity && bits & (1 << UInt64(index)) != 0 }
    public mutating func insert(_ index: Int) { bits |= 1 << UInt64(index) }
    public mutating func formUnion(_ other: BranchSet) { bits |= other.bits }
    public func union(_ other: BranchSet) -> BranchSet { BranchSet(bits: bits | other.bits) }
    public func subtracting(_ other: BranchSet) -> BranchSet { BranchSet(bits: bits & ~other.bits) }

    /// The single member, when there is exactly one.
    public var only: Int? { count == 1 ? bits.trailingZeroBitCount : nil }

    public func makeIterator() -> AnyIterator<Int> {
        var rest = bits
        return AnyIterator {
            guard rest != 0 else { return nil }
            let i = rest.trailingZeroBitCount
            rest &= rest - 1
            return i
        }
    }
}
