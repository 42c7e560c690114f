import Analysis
import GraphIR

/// The render pipeline: graph (+ report) → view → DOT → Graphviz, for every output format.
public enum Renderer {
    public enum Format: String, Sendable, CaseIterable {
        case dot, svg, png, pdf, html

        /// The format an output path asks for by its extension.
        public init?(path: String) {
            guard let dot = path.lastIndex(of: "."), !path.hasSuffix("/") else { return nil }
            self.init(rawValue: path[path.index(after: dot)...].lowercased())
        }
    }

    public struct Output: Sendable {
        public var bytes: [UInt8]
        public var view: ViewGraph
        /// For the HTML view: how many modules it can open.
        public var modules: Int?
        /// Edges drawn as arcs after the layout instead of routed by dot (`ImpliedEdges`).
        public var impliedEdges = 0
    }

    public static func render(_ graph: Graph, report: Report?, options: RenderOptions, format: Format) throws(RenderError) -> Output {
        var options = options
        // The HTML view opens and closes modules itself: it starts at the depth asked for, all of it.
        if format == .html { options.focus = false }
        let view = ViewBuilder.build(graph, report: report, options: options)
        let dot = DOTEncoder.encode(view)
        // Even the shallowest view can be too much (a million ops in the model's own forward): no layout
        // then, rather than one that never ends. DOT text needs no layout.
        if format != .dot && format != .html && (view.nodes.count > options.nodeLimit || view.edges.count > options.edgeLimit) {
            throw RenderError(
                "too large to lay out: \(view.nodes.count) nodes and \(view.edges.count) edges even at the shallowest depth "
                    + "(the limit is \(options.nodeLimit) nodes and \(options.edgeLimit) edges; write .dot, or raise it with --max-nodes)")
        }
        let implied = format == .dot || format == .html ? [] : ImpliedEdges.choose(view)
        let order = view.branchBlocks.map { block in
            switch block {
            case .cluster(let id): "cluster_\(id)"
            case .node(let id): "n\(id)"
            }
        }
        func draw(_ format: GraphvizRenderer.Format) throws(RenderError) -> Output {
            guard !implied.isEmpty else { return Output(bytes: try GraphvizRenderer.render(dot: dot, format: format, order: order), view: view) }
            let bytes = try GraphvizRenderer.render(dot: DOTEncoder.encode(view, omitting: implied), format: format, order: order) { plain throws(RenderError) in
                try ImpliedEdges.statements(view, implied, plain: plain)
            }
            return Output(bytes: bytes, view: view, impliedEdges: implied.count)
        }
        switch format {
        case .dot: return Output(bytes: Array(dot.utf8), view: view)
        case .svg: return try draw(.svg)
        case .png: return try draw(.png)
        case .pdf: return try draw(.pdf)
        case .html:
            let page = try HTMLDocument.render(graph, report: report, options: options, openDepth: view.depth)
            return Output(bytes: Array(page.html.utf8), view: view, modules: page.levels - 1)
        }
    }
}
