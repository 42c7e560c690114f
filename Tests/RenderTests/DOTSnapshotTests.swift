import Analysis
import GraphCheck
import GraphIR
import Render
import Testing
import TestSupport

/// DOT output for small graphs, reviewed as diffs (RECORD_SNAPSHOTS=1 re-records).
@Suite struct DOTSnapshotTests {
    func dot(_ spec: String, _ options: RenderOptions) throws -> String {
        let input = try Repository.trace(spec)
        let report = try Analyzer.analyze(input.graph, branches: input.declaredBranches)
        return String(decoding: try Renderer.render(input.graph, report: report, options: options, format: .dot).bytes, as: UTF8.self)
    }

    static func heads(_ kind: String) -> String {
        """
        {"format": "graphcheck.model", "version": 1, "mode": "train",
         "let": {"head": {"type": "Sequential", "children": {"fc": {"type": "Linear", "in_features": 4, "out_features": 2}, "act": {"type": "ReLU"}}}},
         "model": {"type": "Module", "class": "TwoHeads",
           "children": {"trunk": {"type": "Linear", "in_features": 8, "out_features": 4}, "head1": {"ref": "head"}, "head2": {"\(kind)": "head"}},
           "forward": {"inputs": ["x"], "body": [
             {"out": "t", "call": "trunk", "args": ["x"]}, {"out": "a", "call": "head1", "args": ["t"]},
             {"out": "b", "call": "head2", "args": ["t"]}, {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}], "outputs": ["y"]}},
         "inputs": [{"name": "x", "shape": [2, 8]}]}
        """
    }

    @Test func sharedHeadsFullDepth() throws {
        try assertSnapshot(try dot(Self.heads("ref"), RenderOptions(depth: .full)), named: "two_heads_shared.full.dot")
    }

    @Test func sharedHeadsCollapsed() throws {
        try assertSnapshot(try dot(Self.heads("ref"), RenderOptions(depth: .level(1))), named: "two_heads_shared.depth1.dot")
    }

    @Test func copiedHeadsFullDepth() throws {
        try assertSnapshot(try dot(Self.heads("copy"), RenderOptions(depth: .full)), named: "two_heads_copied.full.dot")
    }
}
