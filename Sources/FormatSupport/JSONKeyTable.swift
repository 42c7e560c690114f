/// The keys an object of a format may have, as the cases of `Key`, prepared for matching as bytes.
public struct JSONKeyTable<Key: CaseIterable & RawRepresentable>: Sendable where Key.RawValue == String, Key: Sendable {
    let keys: [Key]
    let names: [String]
    let utf8: [[UInt8]]

    public init() {
        keys = Array(Key.allCases)
        precondition(keys.count <= 64, "a key table has at most 64 keys")
        names = keys.map(\.rawValue)
        utf8 = names.map { Array($0.utf8) }
    }

    /// The key whose bytes, followed by a closing quote, start at `start`.
    func match(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        for (i, key) in utf8.enumerated() {
            let end = start + key.count
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { continue }
            var equal = true
            for j in 0..<key.count where bytes[start + j] != key[j] {
                equal = false
                break
            }
            if equal { return i }
        }
        return nil
    }
}
