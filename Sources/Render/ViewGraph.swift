/// What will be drawn, before it is DOT: nodes grouped into nested module clusters, edges between them,
/// and the styling that marks findings. Everything a user typed is still plain text here; escaping
/// happens in one place, the DOT encoder.
public struct ViewGraph: Sendable {
    public enum NodeKind: Sendable {
        case op, box, storage, input, output
    }

    public struct Node: Sendable {
        public var kind: NodeKind
        /// Lines of the label.
        public var lines: [String]
        /// Fill colour (`#rrggbb`), for storages and modules in a shared group.
        public var fill: String?
        /// Outline colour and weight for emphasis.
        public var outline: String?
        /// What hovering says (`Details`).
        public var tooltip: [String] = []
    }

    public struct Cluster: Sendable {
        public var label: String
        public var nodes: [Int] = []
        public var children: [Int] = []
        public var outline: String?
    }

    public enum EdgeKind: Sendable {
        case data, state
        /// A value or a parameter / buffer of one branch read by another (red).
        case crossBranch, crossBranchState
        /// Not drawn: holds an op that has no drawn edges (a BatchNorm's `num_batches_tracked += 1`) next
        /// to the other ops of its module. Left free, dot ranks such ops with the graph's inputs, and
        /// hundreds of them in one rank across clusters made a full-depth layout 25 times slower.
        case layout
        /// Not drawn and not ranking: a hint to keep branches in order (`ViewBuilder.orderBranches`).
        case order
    }

    public struct Edge: Sendable {
        public var from: Int
        public var to: Int
        public var label: String?
        public var kind: EdgeKind
        /// The tensors the edge stands for, each with its shape.
        public var tooltip: [String] = []
    }

    /// One line of the legend: a swatch drawn as what it explains is drawn, and its words.
    public struct LegendEntry: Sendable, Equatable {
        public enum Swatch: Sendable, Equatable {
            /// A node: pale fill, coloured outline (a shared module group).
            case node(fill: String, outline: String)
            /// An edge in this colour, dashed or not.
            case edge(colour: String, dashed: Bool)
            /// Words only: what the picture leaves out.
            case none
        }
        public var swatch: Swatch
        public var text: String
    }

    public var title: String?
    /// Drawn at the top beside the title; only what the picture shows.
    public var legend: [LegendEntry] = []
    /// Focus mode: the modules opened to `focusDepth` (nil: every op) while the rest is drawn at `depth`.
    public var focus: [String] = []
    public var focusDepth: Int?
    /// Ops left out because they only compute with shapes (`ViewBuilder.shapeArithmetic`).
    public var foldedShapeOps = 0
    public var nodes: [Node] = []
    public var clusters: [Cluster] = []
    /// Clusters and nodes at the top level, in order.
    public var rootClusters: [Int] = []
    public var rootNodes: [Int] = []
    public var edges: [Edge] = []
    /// What stands for one branch in the picture: its cluster, or its one node when it has no cluster.
    public enum Block: Sendable, Equatable {
        case cluster(Int), node(Int)
    }
    /// Each branch's block in branch order, when every branch has one and they are siblings (all at the
    /// top level, or all in one cluster): the picture puts them left to right in this order (`BranchOrder`).
    public var branchBlocks: [Block] = []
    /// The module depth drawn; nil when every op is drawn.
    public var depth: Int?
    /// Set when the depth asked for would have exceeded the layout limit and a shallower one was drawn:
    /// the node count the request would have had.
    public var collapsedFrom: Int?
    public var opNodes: Int { nodes.filter { $0.kind == .op }.count }
}
