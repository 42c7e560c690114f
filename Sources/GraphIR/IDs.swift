/// Dense integer handles into a `Graph`'s arrays. Distinct types so that a value can never be looked up
/// as a storage by mistake; the user-visible string ids live on the elements themselves.
public struct NodeID: Hashable, Comparable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: NodeID, b: NodeID) -> Bool { a.index < b.index }
}

public struct ValueID: Hashable, Comparable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
}

public struct StorageID: Hashable, Comparable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: StorageID, b: StorageID) -> Bool { a.index < b.index }
}

/// What an op reads: a tensor computed in the graph, or a parameter/buffer the model owns.
public enum Operand: Hashable, Sendable {
    case value(ValueID)
    case storage(StorageID)
}
