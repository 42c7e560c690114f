import Analysis
import GraphIR
import Testing
import TestSupport

/// A branch asked for that has no op in the trace did not run (an auxiliary head in eval mode): nothing
/// about it was checked, so there is no verdict, and the report names it.
@Suite struct BranchNotRunTests {
    func graph() -> Graph {
        var g = SmallGraph(inputs: ["x"], mode: .eval)
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc", ["t"])
        g.layer("b", "head2.fc", ["t"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        var graph = g.graph
        graph.modules = ["", "trunk", "head1", "head1.fc", "head2", "head2.fc", "aux", "aux.fc"].map { ModuleInfo(path: $0, type: "Module") }
        return graph
    }

    @Test func aGivenBranchWithoutOpsIsNoPass() throws {
        let report = try Analyzer.analyze(graph(), branches: ["head1", "head2", "aux"])
        #expect(report.independent == nil)
        #expect(report.undecidedReason == .branchNotRun)
        #expect(report.branchesNotRun == ["aux"])
        #expect(TextReporter.verdict(report).contains("cannot decide: aux did not run in this trace"))
    }

    @Test func branchesThatAllRanAreJudged() throws {
        let report = try Analyzer.analyze(graph(), branches: ["head1", "head2"])
        #expect(report.independent == true && report.branchesNotRun.isEmpty)
    }
}

extension BranchNotRunTests {
    /// Found automatically, the heads that ran are judged, and a module whose parameters no op read (GoogLeNet's
    /// `aux1` exported in eval mode) is named as not checked; a module that ran is not.
    @Test func modulesWithParametersThatDidNotRunAreNamed() throws {
        var g = SmallGraph(inputs: ["x"], mode: .eval)
        g.share(["aux.conv.weight"])
        g.share(["frozen_aux.weight"], trainable: false)
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc", ["t"])
        g.layer("b", "head2.fc", ["t"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.independent == true)
        #expect(report.modulesNotRun == ["aux"])
        #expect(TextReporter.verdict(report).contains("not checked: aux has parameters but did not run in this trace"))
        #expect(try Analyzer.analyze(g.graph, branches: ["head1", "head2"]).modulesNotRun.isEmpty, "given branches say what is checked")
    }
}
