import Foundation
import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// Traces written by the PyTorch exporter (Tests/Fixtures/torch/make_fixtures.py), read by the Swift side.
@Suite struct ExporterFixtureTests {
    static let expected: [String: [String: Int]] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Repository.path("Tests/Fixtures/torch/expected.json")))
        return try! JSONDecoder().decode([String: [String: Int]].self, from: data)
    }()

    func graph(_ model: String) throws -> Graph { try Repository.load("Tests/Fixtures/torch/\(model).trace.json").graph }

    @Test(arguments: ["densenet121_multihead", "densenet121_multihead_fixed", "list_heads_shared", "list_heads", "dict_heads_tied"])
    func storageCountsMatchNamedParametersAndBuffers(model: String) throws {
        let graph = try graph(model)
        let expected = try #require(Self.expected[model])
        let parameters = graph.storages.filter { $0.kind == .parameter }
        let buffers = graph.storages.filter { $0.kind == .buffer }
        #expect(parameters.count == expected["parameter_storages"])
        #expect(parameters.reduce(0) { $0 + $1.names.count } == expected["parameter_names"])
        #expect(buffers.count == expected["buffer_storages"])
        #expect(buffers.reduce(0) { $0 + $1.names.count } == expected["buffer_names"])
        #expect(graph.verify().isEmpty)
    }

    @Test func seedVerdictsMatchTheModelSpec() throws {
        let shared = try Analyzer.analyze(try graph("densenet121_multihead"))
        #expect(shared.independent == false)
        #expect(shared.findings.map(\.rule) == ["shared-storage", "cross-branch-dependency", "gradient-leak"])
        let group = try #require(shared.findings[0].sharedStorage?.groups.first)
        #expect(group.paths == (1...5).map { "branch\($0).denseblock4" })
        #expect(group.type == "_DenseBlock" && group.sameObject)
        let fixed = try Analyzer.analyze(try graph("densenet121_multihead_fixed"))
        #expect(fixed.independent == true)
    }

    @Test func everyBranchsOpsAreUnderItsOwnCallSitePath() throws {
        let graph = try graph("densenet121_multihead")
        for i in 1...5 {
            let ops = graph.nodes.filter { $0.module.hasPrefix("branch\(i).") }
            #expect(ops.filter { $0.op == "batch_norm" }.count == 33)
            #expect(ops.filter { $0.op == "conv2d" }.count == 32)
        }
        // Dispatch level, training mode: BatchNorm writes its running statistics, num_batches_tracked is
        // an in-place add of its own.
        let norm0 = graph.nodes.filter { $0.module == "trunk.norm0" }
        #expect(norm0.map(\.op) == ["add", "batch_norm"])
        #expect(norm0[0].inplace && norm0[0].writes.map { graph[$0].attributeName } == ["num_batches_tracked"])
        #expect(norm0[1].writes.map { graph[$0].attributeName } == ["running_mean", "running_var"])
    }

    @Test func sharedHeadInAModuleListAndTiedWeights() throws {
        let list = try Analyzer.analyze(try graph("list_heads_shared"))
        #expect(list.branches == ["heads.0", "heads.1", "heads.2"])
        #expect(list.independent == false)
        // Each place names the user's line the exporter recorded, beside the module and the node.
        let duplicate = try #require(list.findings.first { $0.rule == "duplicate-computation" })
        #expect(duplicate.details.first == "linear in heads.0.5 at integrations/pytorch/tests/models.py:20 (n12)")
        #expect(try Analyzer.analyze(try graph("list_heads")).independent == true)
        let tied = try Analyzer.analyze(try graph("dict_heads_tied"))
        #expect(tied.branches == ["heads.age", "heads.sex"])
        let shared = try #require(tied.findings.first?.sharedStorage)
        #expect(shared.storages.map(\.names) == [["heads.age.weight", "heads.sex.weight"]])
        #expect(shared.cause == .reusedTensors)
    }
}
