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
    /// Open only what findings involve to the depth asked for: true always, false never, nil when the
    /// depth asked for is beyond the automatic budget.
    public var focus: Bool?
    /// Above this many nodes or edges dot gets slow and the drawing unreadable; `.auto` stays below both.
    /// (DenseNet's concatenations make edges grow much faster than nodes as modules are expanded.)
    public var nodeBudget = 400
    public var edgeBudget = 600
    /// The most that is ever handed to Graphviz, whatever depth was asked for: dot's layout grows much
    /// faster than linearly (about 20 s at 5,000 nodes here), so a deeper request is collapsed to the
    /// deepest level within this, and the view says so.
    public var nodeLimit = 5000
    public var edgeLimit = 10000

    public init(depth: Depth = .auto, parameters: Parameters = .findings, showFindings: Bool = true) {
        self.depth = depth
        self.parameters = parameters
        self.showFindings = showFindings
    }
}
