public enum GraphCheckVersion {
    public static let current = "0.1.0"
    /// What trace files written by this build say produced them.
    public static var producer: String { "graphcheck \(current)" }
}
