import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// Branches are sibling subtrees that read one fork value and meet only in ops that rearrange tensors.
@Suite struct BranchDiscoveryTests {
    func branches(_ spec: String) throws -> [String] {
        BranchDiscovery.discover(try Repository.trace(spec).graph).names
    }

    func backbone(children: String, body: String) -> String {
        """
        {"format": "graphcheck.model", "version": 1, "mode": "eval",
         "model": {"type": "Module", "children": {"backbone": {"type": "Linear", "in_features": 8, "out_features": 4}, \(children)},
                   "forward": {"inputs": ["x"], "body": [{"out": "t", "call": "backbone", "args": ["x"]}, \(body)], "outputs": ["y"]}},
         "inputs": [{"name": "x", "shape": [2, 8]}]}
        """
    }

    @Test func moduleListHeadsAreFoundOneLevelDown() throws {
        let heads = #""heads": {"type": "ModuleList", "children": [{"type": "Linear", "in_features": 4, "out_features": 1}, {"type": "Linear", "in_features": 4, "out_features": 1}, {"type": "Linear", "in_features": 4, "out_features": 1}]}"#
        let body = """
            {"out": "a", "call": "heads[0]", "args": ["t"]}, {"out": "b", "call": "heads[1]", "args": ["t"]},
            {"out": "c", "call": "heads[2]", "args": ["t"]}, {"out": "y", "op": "cat", "args": ["a", "b", "c"], "dim": 1}
            """
        #expect(try branches(backbone(children: heads, body: body)) == ["heads.0", "heads.1", "heads.2"])
    }

    @Test func moduleDictHeadsAreFoundByKey() throws {
        let heads = #""heads": {"type": "ModuleDict", "children": {"age": {"type": "Linear", "in_features": 4, "out_features": 1}, "sex": {"type": "Linear", "in_features": 4, "out_features": 2}}}"#
        let body = #"{"out": "a", "call": "heads.age", "args": ["t"]}, {"out": "b", "call": "heads.sex", "args": ["t"]}, {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}"#
        #expect(try branches(backbone(children: heads, body: body)) == ["heads.age", "heads.sex"])
    }

    /// A ResNet block's paths: added back together, and the sum goes on into more layers.
    @Test func pathsThatAreAddedBackTogetherAreNotBranches() throws {
        let children = #""p": {"type": "Linear", "in_features": 4, "out_features": 4}, "q": {"type": "Linear", "in_features": 4, "out_features": 4}, "out": {"type": "Linear", "in_features": 4, "out_features": 2}"#
        let body = #"{"out": "a", "call": "p", "args": ["t"]}, {"out": "b", "call": "q", "args": ["t"]}, {"out": "s", "op": "add", "args": ["a", "b"]}, {"out": "y", "call": "out", "args": ["s"]}"#
        #expect(try branches(backbone(children: children, body: body)) == [])
    }

    /// DeiT's distilled heads: averaged at the very end, with nothing learned after. They are heads.
    @Test func headsAveragedAtTheEndAreBranches() throws {
        let children = #""p": {"type": "Linear", "in_features": 4, "out_features": 4}, "q": {"type": "Linear", "in_features": 4, "out_features": 4}"#
        let body = #"{"out": "a", "call": "p", "args": ["t"]}, {"out": "b", "call": "q", "args": ["t"]}, {"out": "y", "op": "add", "args": ["a", "b"]}"#
        #expect(try branches(backbone(children: children, body: body)) == ["p", "q"])
    }

    @Test(arguments: ["resnet18", "resnet50", "densenet121"])
    func singleHeadArchitecturesHaveNoBranches(type: String) throws {
        let spec = #"{"format": "graphcheck.model", "version": 1, "mode": "eval", "model": {"type": "\#(type)"}, "inputs": [{"name": "x", "shape": [1, 3, 64, 64]}]}"#
        let graph = try Repository.trace(spec).graph
        #expect(BranchDiscovery.discover(graph).names == [])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == nil)
        #expect(TextReporter.verdict(report).contains("no branches found"))
    }

    @Test func headsThatReadEachOtherAreNotFoundButCanBeGiven() throws {
        let children = #""p": {"type": "Linear", "in_features": 4, "out_features": 4}, "q": {"type": "Linear", "in_features": 4, "out_features": 4}"#
        let body = #"{"out": "a", "call": "p", "args": ["t"]}, {"out": "b", "call": "q", "args": ["a"]}, {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}"#
        let graph = try Repository.trace(backbone(children: children, body: body)).graph
        #expect(BranchDiscovery.discover(graph).names == [])
        let report = try Analyzer.analyze(graph, branches: ["p", "q"])
        #expect(report.findings.map(\.rule) == ["cross-branch-dependency", "gradient-leak"])
        let cross = try #require(report.findings[0].crossBranchDependency)
        #expect(cross.pairs == [.init(source: "p", target: "q", data: 1)])
        #expect(cross.edges.map { [cross.nodes[$0.producer!.index]!.module, cross.nodes[$0.consumer.index]!.module] } == [["p", "q"]])
        let leak = try #require(report.findings[1].gradientLeak)
        #expect(leak.owners == ["p"] && leak.foreign == ["q"])
        #expect(leak.parameters.map(\.name) == ["p.weight", "p.bias"])
    }
}
