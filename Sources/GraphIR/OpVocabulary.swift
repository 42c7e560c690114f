/// What an op does that the analysis needs to know, asked as properties instead of op names, so that
/// frontends spelling an op differently cannot make a rule miss it.
public struct OpProperties: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Hands on values but no gradient (`.detach()`): nothing computed from its result backpropagates
    /// into what it read.
    public static let cutsGradient = OpProperties(rawValue: 1 << 0)
}

/// The one table from canonical op kinds to their properties. Op kinds not listed have none.
public enum OpVocabulary {
    static let table: [String: OpProperties] = [
        "detach": .cutsGradient,
        "stop_gradient": .cutsGradient,
    ]

    public static func properties(of op: String) -> OpProperties { table[op] ?? [] }
}
