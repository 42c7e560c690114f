/// Counting words for messages and labels: `1 tensor`, `3 tensors`, `2 accesses`.
public func plural(_ n: Int, _ word: String, _ pluralWord: String? = nil) -> String {
    "\(n) \(n == 1 ? word : (pluralWord ?? word + "s"))"
}

/// `a, b, c` — shortened in the middle for long lists.
public func list(_ items: [String], limit: Int = 8) -> String {
    if items.count <= limit { return items.joined(separator: ", ") }
    return (items.prefix(limit - 2) + ["…"] + items.suffix(1)).joined(separator: ", ")
}

/// `a ≡ b ≡ c`.
public func equivalence(_ items: [String]) -> String {
    if items.count <= 6 { return items.joined(separator: " ≡ ") }
    return (items.prefix(3) + ["…"] + items.suffix(1)).joined(separator: " ≡ ")
}
