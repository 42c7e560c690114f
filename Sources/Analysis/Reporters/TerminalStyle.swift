/// ANSI styling for a terminal, or none: the command line turns it on only when standard output is a
/// terminal and `NO_COLOR` is unset, so pipes, files and CI logs get plain text.
public struct TerminalStyle: Sendable {
    public let enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    public static let plain = TerminalStyle(enabled: false)

    private func wrap(_ text: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    public func bold(_ text: String) -> String { wrap(text, "1") }
    public func red(_ text: String) -> String { wrap(text, "1;31") }
    public func yellow(_ text: String) -> String { wrap(text, "1;33") }
    public func green(_ text: String) -> String { wrap(text, "1;32") }
    public func cyan(_ text: String) -> String { wrap(text, "36") }

    /// A severity as a compiler colours it: errors red, warnings yellow, infos cyan.
    public func severity(_ severity: Severity, _ text: String) -> String {
        switch severity {
        case .error: return red(text)
        case .warning: return yellow(text)
        case .info: return cyan(text)
        }
    }
}
