import Analysis
import FormatSupport
import GraphCheck
import GraphIR
import Render
import TraceFormat

/// One frontend under test, taken from the registry the command line uses, and everything downstream of
/// it that a user's file reaches: reading must either throw an `InputError` or hand over a graph that
/// passes `verify()`, which the analyzer and the DOT encoder must then take without trapping. (Graphviz
/// layout is left out: it is C, not ours, and slow.)
struct FuzzTarget {
    let frontend: any Frontend

    init?(_ id: String) {
        guard let frontend = Frontends.named(id) else { return nil }
        self.frontend = frontend
    }

    static var names: [String] { Frontends.all.map(\.id) }

    func run(_ bytes: [UInt8]) {
        if frontend.id == "trace" { compareSplitRead(bytes) }
        let graph: Graph
        do {
            graph = try Frontends.read(bytes, with: frontend).graph
        } catch {
            _ = error.description
            return
        }
        let problems = graph.verify()
        if !problems.isEmpty {
            fatalError("\(frontend.id) frontend handed over a graph that fails verify(): \(problems[0])")
        }
        guard let report = try? Analyzer.analyze(graph) else { return }
        _ = DOTEncoder.encode(ViewBuilder.build(graph, report: report, options: RenderOptions()))
    }

    /// Differential: reading a trace's `nodes` split across two threads must give exactly what reading in
    /// order gives, result or error.
    private func compareSplitRead(_ bytes: [UInt8]) {
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
    }
}


