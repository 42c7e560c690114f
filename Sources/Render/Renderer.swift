import Analysis
import GraphIR

/// The render pipeline: graph (+ report) → view → DOT → Graphviz, for every output format.
public enum Renderer {
    public enum Format: String, Sendable, CaseIterable {
        case dot, svg, png, pdf

        /// The format an output path asks for by its extension.
        public init?(path: String) {
            guard let dot = path.lastIndex(of: "."), !path.hasSuffix("/") else { return nil }
            self.init(rawValue: path[path.index(after: dot)...].lowercased())
        }
    }

    public struct Output: Sendable {
        public var bytes: [UInt8]
        public var view: ViewGraph
    }

    public static func render(_ graph: Graph, report: Report?, options: RenderOptions, format: Format) throws(RenderError) -> Output {
        let view = ViewBuilder.build(graph, report: report, options: options)
        let dot = DOTEncoder.encode(view)
        switch format {
        case .dot: return Output(bytes: Array(dot.utf8), view: view)
        case .svg: return Output(bytes: try GraphvizRenderer.render(dot: dot, format: .svg), view: view)
        case .png: return Output(bytes: try GraphvizRenderer.render(dot: dot, format: .png), view: view)
        case .pdf: return Output(bytes: try GraphvizRenderer.render(dot: dot, format: .pdf), view: view)
        }
    }
}
