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
            // Differential: reading `nodes` split across two threads must give exactly what reading in
            // order gives, result or error.
            let inOrder = Result { () throws(InputError) in try TraceReader.read(bytes, parallelAbove: .max) }
            let split = Result { () throws(InputError) in try TraceReader.read(bytes, parallelAbove: 0) }
            switch (inOrder, split) {
            case (.success(let a), .success(let b)):
                if TraceWriter.write(a, producer: "") != TraceWriter.write(b, producer: "") { fatalError("split read differs from reading in order") }
            case (.failure(let a), .failure(let b)):
                if a != b { fatalError("split read fails differently: \(b) instead of \(a)") }
            default:
                fatalError("split read and reading in order disagree: \(inOrder) vs \(split)")
            }
            return try inOrder.get()
        case .onnx:
            return try ONNXModelReader.read(bytes)
        case .tensorboard:
            return try TensorBoardGraphReader.read(bytes)
        }
    }
}
