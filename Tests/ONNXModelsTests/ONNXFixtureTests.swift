import Analysis
import Foundation
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// The seed and small models exported with both of torch's ONNX exporters (make_onnx_fixtures.py).
@Suite struct ONNXFixtureTests {
    func report(_ name: String) throws -> Report {
        try Analyzer.analyze(try Repository.load("Tests/Fixtures/torch/onnx/\(name).onnx").graph)
    }

    static let exporters = ["torchscript", "dynamo"]

    /// Shared heads never read as independent, fresh or trained, from either exporter.
    @Test(arguments: exporters)
    func sharedSeedIsNeverIndependent(exporter: String) throws {
        for model in ["densenet121_multihead", "densenet121_multihead_trained"] {
            let report = try report("\(model).\(exporter)")
            #expect(report.independent != true, "\(model).\(exporter)")
            #expect(!report.findings.contains { $0.rule == "shared-storage" }, "ONNX has no storage identity")
        }
    }

    @Test(arguments: exporters)
    func fixedSeedWithDivergedWeightsShowsNoSharing(exporter: String) throws {
        let report = try report("densenet121_multihead_fixed_trained.\(exporter)")
        #expect(report.branches == (1...5).map { "branch\($0)" })
        #expect(report.findings.isEmpty)
        // Names cannot show a tensor assigned into another module: no finding is still no pass.
        #expect(report.independent == nil && report.undecidedReason == .storageNotRecorded)
    }

    /// Fresh deep copies are equal, and exporters merge equal tensors: no verdict, and no claim of sharing.
    @Test(arguments: exporters)
    func freshFixedSeedIsNotCalledIndependent(exporter: String) throws {
        let report = try report("densenet121_multihead_fixed.\(exporter)")
        #expect(report.branches == (1...5).map { "branch\($0)" })
        #expect(report.independent == nil)
        #expect(report.findings.map(\.rule) == ["shared-initializer"], "only the value-deduplicated initializers, explained")
    }

    @Test func torchScriptExportSharedHeadsReadBranch1Initializers() throws {
        let shared = try report("densenet121_multihead.torchscript")
        let finding = try #require(shared.findings.first { $0.rule == "shared-initializer" })
        #expect(finding.severity == .warning && finding.undecidable)
        #expect(finding.branches == (1...5).map { "branch\($0)" })
        // Names only: every initializer goes by one name, some under branch1's shared block, some the trunk's
        // BatchNorm weights the exporter merged by value.
        let evidence = try #require(finding.sharedInitializer)
        #expect(evidence.initializers.allSatisfy { $0.names.count == 1 })
        #expect(evidence.byModule.prefix(2).map(\.path) == ["trunk", "branch1.denseblock4"])
        let fresh = try report("densenet121_multihead_fixed.torchscript")
        #expect(fresh.findings.map(\.rule) == ["shared-initializer"], "value-deduplicated BatchNorm weights, explained")
    }

    /// The dynamo exporter merges the five identical shared heads into one computation; the initializers
    /// it keeps under branch5's name, read by branch1's ops, still tell.
    @Test func dynamoExportSaysTheBranchesWereMerged() throws {
        let report = try report("densenet121_multihead.dynamo")
        let merged = try #require(report.findings.first { $0.rule == "merged-branch" })
        let evidence = try #require(merged.mergedBranch)
        #expect([evidence.idle, evidence.busy] == ["branch5", "branch1"] && evidence.initializers.count == 32)
        #expect(report.independent == nil)
    }

    @Test func modulePathsComeFromEachExportersScopes() throws {
        let ts = try Repository.load("Tests/Fixtures/torch/onnx/densenet121_multihead_fixed_trained.torchscript.onnx").graph
        #expect(ts.storageIdentity == .name)
        #expect(ts.nodes.contains { $0.module == "branch3.denseblock4.denselayer1.conv1" && $0.op == "conv2d" })
        let dynamo = try Repository.load("Tests/Fixtures/torch/onnx/densenet121_multihead_fixed_trained.dynamo.onnx").graph
        let node = try #require(dynamo.nodes.first { $0.module == "branch3.denseblock4.denselayer1.conv2" })
        #expect(node.moduleType == "Conv2d", "from pkg.torch.onnx.class_hierarchy")
        // The dynamo exporter fuses BatchNorm into the convolution before it: that Conv carries norm2's scope.
        #expect(dynamo.nodes.contains { $0.module == "branch3.denseblock4.denselayer1.norm2" && $0.op == "conv2d" })
        let list = try Repository.load("Tests/Fixtures/torch/onnx/list_heads.torchscript.onnx").graph
        #expect(list.nodes.contains { $0.module == "heads.2.5" && $0.op == "linear" }, "qualified ModuleList scopes")
    }

    /// The TorchScript-based exporter scopes a ModuleDict's entry without the dict (`/age/Gemm`): the heads are
    /// still `heads.age` and `heads.sex`, as the model and `--branch` name them, from either exporter.
    @Test(arguments: exporters)
    func moduleDictHeadsKeepTheirPaths(exporter: String) throws {
        let report = try report("dict_heads.\(exporter)")
        #expect(report.branches == ["heads.age", "heads.sex"] && report.undecidedReason == .storageNotRecorded)
        let given = try Analyzer.analyze(try Repository.load("Tests/Fixtures/torch/onnx/dict_heads.\(exporter).onnx").graph, branches: ["heads.age", "heads.sex"])
        #expect(given.branchesNotRun.isEmpty)
    }

    @Test(arguments: exporters)
    func moduleListHeads(exporter: String) throws {
        let separate = try report("list_heads.\(exporter)")
        #expect(separate.branches == ["heads.0", "heads.1", "heads.2"] && separate.findings.isEmpty)
        #expect(separate.undecidedReason == .storageNotRecorded)
        #expect(try report("list_heads_shared.\(exporter)").independent == nil)
    }
}
