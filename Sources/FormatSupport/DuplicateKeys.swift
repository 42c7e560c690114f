/// The keys of one JSON object seen so far, for rejecting a repeated key. Objects are nearly always small,
/// so keys are searched in a list; past 16 a set takes over, so a hostile object with a million keys is
/// not quadratic.
public struct DuplicateKeys {
    private var list: [String] = []
    private var set: Set<String>?

    public init() {}

    /// Records `key`; false if the object already had it.
    public mutating func insert(_ key: String) -> Bool {
        if set != nil { return set!.insert(key).inserted }
        if list.contains(key) { return false }
        list.append(key)
        if list.count > 16 { set = Set(list) }
        return true
    }
}
