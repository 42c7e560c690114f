/// What to draw: how deep to expand modules, which parameters and buffers, and whether to mark findings.
public struct RenderOptions: Sendable {
    public enum Depth: Sendable, Equatable {
        /// The deepest level that stays within `nodeBudget` nodes.
        case auto
        /// Every op.
        case full
        /// Modules deeper than this many path components are drawn as one box.
        case level(Int)
    }

    public enum Parameters: String, Sendable, CaseIterable {
        case none, findings, all
    }

    public var depth: Depth = .auto
    public var parameters: Parameters = .findings
    public var showFindings = true
    /// Above this many nodes or edges dot gets slow and the drawing unreadable; `.auto` stays below both.
    /// (DenseNet's concatenations make edges grow much faster than nodes as modules are expanded.)
    public var nodeBudget = 400
    public var edgeBudget = 600

    public init(depth: Depth = .auto, parameters: Parameters = .findings, showFindings: Bool = true) {
        self.depth = depth
        self.parameters = parameters
        self.showFindings = showFindings
    }
}
