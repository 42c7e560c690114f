import Analysis
import FormatSupport
import GraphIR
import ModelSpec
import ONNXModels
import Render
import TensorBoardEvents
import TraceFormat

/// One reader under test, and everything downstream of it that a user's file reaches: the reader must
/// either throw an `InputError` or hand over a graph that passes `verify()`, which the analyzer and the
/// DOT encoder must then take without trapping. (Graphviz layout is left out: it is C, not ours, and slow.)
enum FuzzTarget: String, CaseIterable {
    case modelSpec = "model-spec"
    case trace
    case onnx
    case tensorboard

    func run(_ bytes: [UInt8]) {
        let graph: Graph
        do {
            graph = try read(bytes)
        } catch {
            _ = error.description
            return
        }
        let problems = graph.verify()
        if !problems.isEmpty {
            fatalError("\(rawValue) reader built a graph that fails verify(): \(problems[0])")
        }
        guard let report = try? Analyzer.analyze(graph) else { return }
        _ = DOTEncoder.encode(ViewBuilder.build(graph, report: report, options: RenderOptions()))
    }

    private func read(_ bytes: [UInt8]) throws(InputError) -> Graph {
        switch self {
        case .modelSpec:
            return try ModelSpecReader.read(JSONCursor(root: JSONParser.parse(bytes), source: JSONSource(bytes: bytes))).graph
        case .trace:
            return try TraceReader.read(bytes)
        case .onnx:
            return try ONNXModelReader.read(bytes)
        case .tensorboard:
            return try TensorBoardGraphReader.read(bytes)
        }
    }
}
