import Foundation
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// The seed samples must trace to what PyTorch itself records for the same model. The numbers and the
/// reference files come from real torch/torchvision (Tests/Fixtures/torch/make_reference.py).
@Suite struct FidelityTests {
    struct Counts: Equatable {
        var ops: [String: Int]
        var parameterStorages: Int, parameterNames: Int
        var bufferStorages: Int, bufferNames: Int
    }

    func counts(_ graph: Graph) -> Counts {
        var ops: [String: Int] = [:]
        for node in graph.nodes { ops[node.op, default: 0] += 1 }
        let parameters = graph.storages.filter { $0.kind == .parameter }
        let buffers = graph.storages.filter { $0.kind == .buffer }
        return Counts(
            ops: ops, parameterStorages: parameters.count, parameterNames: parameters.reduce(0) { $0 + $1.names.count },
            bufferStorages: buffers.count, bufferNames: buffers.reduce(0) { $0 + $1.names.count })
    }

    @Test func sharedSampleMatchesPyTorchCounts() throws {
        let c = counts(try Repository.load("samples/densenet121_multihead.json").graph)
        #expect(c.ops["batch_norm"] == 253)
        #expect(c.ops["conv2d"] == 248)
        #expect(c.ops["linear"] == 5)
        #expect(c.parameterStorages == 372)
        #expect(c.parameterNames == 764)
        #expect(c.bufferStorages == 363)
        #expect(c.bufferNames == 759)
    }

    @Test func fixedSampleMatchesPyTorchCounts() throws {
        let c = counts(try Repository.load("samples/densenet121_multihead_fixed.json").graph)
        #expect(c.ops["batch_norm"] == 253)
        #expect(c.ops["conv2d"] == 248)
        #expect(c.ops["linear"] == 5)
        #expect(c.parameterStorages == 764)
        #expect(c.parameterNames == 764)
        #expect(c.bufferStorages == 759)
        #expect(c.bufferNames == 759)
    }

    /// Every leaf-module call in PyTorch's execution order with its call-site path, and every storage
    /// with all its names, must be exactly what PyTorch reported.
    @Test(arguments: ["densenet121_multihead", "densenet121_multihead_fixed"])
    func traceAgreesWithPyTorchReference(stem: String) throws {
        let graph = try Repository.load("samples/\(stem).json").graph
        let reference = try String(contentsOfFile: Repository.path("Tests/Fixtures/torch/\(stem).reference.txt"), encoding: .utf8)
        let lines = reference.split(separator: "\n").map(String.init)

        let leaves = leafModules(graph)
        let calls = graph.nodes.filter { leaves.contains($0.module) }.map { "call \($0.module) \($0.moduleType)" }
        let expectedCalls = lines.filter { $0.hasPrefix("call ") }
        #expect(calls.count == expectedCalls.count)
        let firstCallDifference = zip(calls, expectedCalls).first { $0 != $1 }
        #expect(firstCallDifference == nil, "first difference: \(String(describing: firstCallDifference))")

        let storages = graph.storages.map { s in
            "\(s.kind.rawValue) \(s.shape!.isEmpty ? "scalar" : s.shape!.map(String.init).joined(separator: "x")) \(s.names.joined(separator: " "))"
        }
        let expectedStorages = lines.filter { !$0.hasPrefix("call ") }
        #expect(storages.count == expectedStorages.count)
        let firstStorageDifference = zip(storages, expectedStorages).first { $0 != $1 }
        #expect(firstStorageDifference == nil, "first difference: \(String(describing: firstStorageDifference))")
    }

    func leafModules(_ graph: Graph) -> Set<String> {
        let paths = Set(graph.modules.map(\.path))
        var parents = Set<String>()
        for path in paths where !path.isEmpty {
            parents.insert(path.split(separator: ".").dropLast().joined(separator: "."))
        }
        return paths.subtracting(parents)
    }

    @Test func sharedSampleModuleTableRecordsAliasing() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let instance = Dictionary(uniqueKeysWithValues: graph.modules.map { ($0.path, $0.instance!) })
        #expect(instance["branch1.denseblock4"] == instance["branch5.denseblock4"])
        #expect(instance["branch1.norm5"] == instance["branch2.norm5"])
        #expect(instance["branch1"] != instance["branch2"], "each slice is a new Sequential")
        let types = graph.moduleTypes()
        #expect(types["branch3.denseblock4.denselayer1.norm1"] == "BatchNorm2d")
        #expect(types["branch3.denseblock4"] == "_DenseBlock")
        #expect(types["trunk.transition1"] == "_Transition")
    }

    @Test func branchOpsAreTaggedWithTheirOwnCallSite() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        // The same BatchNorm object runs five times; each run carries the path it was called through.
        let calls = graph.nodes.filter { $0.op == "batch_norm" && $0.module.hasSuffix("denseblock4.denselayer1.norm1") }
        #expect(calls.map(\.module) == (1...5).map { "branch\($0).denseblock4.denselayer1.norm1" })
        #expect(Set(calls.map { $0.storageInputs }).count == 1, "one set of storages")
        // Training mode: every BatchNorm writes running_mean, running_var and num_batches_tracked.
        #expect(calls.allSatisfy { $0.writes.count == 3 })
        let written = calls[0].writes.map { graph[$0].attributeName }
        #expect(written == ["running_mean", "running_var", "num_batches_tracked"])
        // DenseNet's ReLUs are in-place.
        #expect(graph.nodes.filter { $0.moduleType == "ReLU" }.allSatisfy { $0.inplace })
    }

    @Test func shapesFollowTheForward() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        #expect(graph.outputs.map { graph[$0].shape } == [[2, 18]])
        let trunkOut = graph.nodes.last { $0.module.hasPrefix("trunk") }!
        #expect(graph[trunkOut.outputs[0]].shape == [2, 512, 7, 7])
        let norm5 = graph.nodes.first { $0.module == "branch1.norm5" }!
        #expect(graph[norm5.outputs[0]].shape == [2, 1024, 7, 7])
    }
}

@Suite struct TorchvisionArchitectureTests {
    func spec(_ type: String, shape: [Int] = [1, 3, 224, 224], mode: String = "eval") -> String {
        """
        {"format": "graphcheck.model", "version": 1, "mode": "\(mode)", "model": {"type": "\(type)"},
         "inputs": [{"name": "x", "shape": \(shape)}]}
        """
    }

    func parameterCount(_ graph: Graph) -> Int {
        graph.storages.filter { $0.kind == .parameter }.reduce(0) { $0 + $1.shape!.reduce(1, *) }
    }

    /// Parameter totals as torchvision reports them (`sum(p.numel() for p in model.parameters())`).
    @Test(arguments: [("densenet121", 7_978_856), ("resnet18", 11_689_512), ("resnet50", 25_557_032)])
    func parameterTotalsMatchTorchvision(type: String, total: Int) throws {
        let graph = try Repository.trace(spec(type)).graph
        #expect(parameterCount(graph) == total)
        #expect(graph.outputs.map { graph[$0].shape } == [[1, 1000]])
        #expect(graph.verify().isEmpty)
    }

    @Test func resnetBlocksAddInPlaceAndReuseTheirReLU() throws {
        let graph = try Repository.trace(spec("resnet18")).graph
        let adds = graph.nodes.filter { $0.op == "add" }
        #expect(adds.count == 8)
        #expect(adds.allSatisfy { $0.inplace })
        // BasicBlock calls its one ReLU twice.
        #expect(graph.nodes.filter { $0.module == "layer1.0.relu" }.count == 2)
        #expect(graph.nodes.filter { $0.module.hasPrefix("layer2.0.downsample") }.map(\.op) == ["conv2d", "batch_norm"])
    }

    @Test func evalModeBatchNormWritesNothing() throws {
        let graph = try Repository.trace(spec("resnet18")).graph
        #expect(graph.nodes.allSatisfy { $0.writes.isEmpty })
    }
}
