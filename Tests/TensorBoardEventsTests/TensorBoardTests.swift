import Foundation
import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport

@testable import TensorBoardEvents
import FormatSupport

/// TensorBoard event files written by real PyTorch (Tests/Fixtures/torch/make_fixtures.py).
@Suite struct TensorBoardTests {
    static func eventFile(_ model: String) -> String { "Tests/Fixtures/torch/tensorboard/\(model)/events.out.tfevents.fixture" }

    static let expected: [String: [String: Int]] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Repository.path("Tests/Fixtures/torch/expected.json")))
        return try! JSONDecoder().decode([String: [String: Int]].self, from: data)
    }()

    func report(_ model: String) throws -> Report {
        try Analyzer.analyze(try Repository.load(Self.eventFile(model)).graph)
    }

    @Test func crc32cMatchesTheCastagnoliCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func sharedSeedIsNotIndependent() throws {
        let report = try report("densenet121_multihead")
        #expect(report.independent == false)
        #expect(report.branches == (1...5).map { "branch\($0)" })
        let shared = report.findings.filter { $0.rule == "shared-storage" }
        #expect(shared.count == 1)
        #expect(shared.first?.branches == report.branches)
        #expect(shared.first?.sharedStorage?.runningStatistics.starts(with: ["running_mean", "running_var"]) == true)
        let cross = try #require(report.findings.first { $0.rule == "cross-branch-dependency" }?.crossBranchDependency)
        // Exactly the edges TensorBoard draws from branch1's parameter and buffer nodes into branches 2–5.
        #expect(cross.edges.count == Self.expected["densenet121_multihead"]?["tensorboard_cross_edges_from_branch1"])
        #expect(cross.edges.count == 656)
        #expect(cross.sources == ["branch1"] && cross.edges.allSatisfy { $0.kind == .parameter })
    }

    /// No sharing shows, but attribute paths cannot show a tensor assigned into another module: no pass.
    @Test func fixedSeedShowsNoSharingButIsNotAPass() throws {
        let report = try report("densenet121_multihead_fixed")
        #expect(report.branches == (1...5).map { "branch\($0)" })
        #expect(report.independent == nil)
        #expect(report.undecidedReason == .storageNotRecorded)
        #expect(report.basis == .path)
        #expect(report.findings.isEmpty)
        #expect(Self.expected["densenet121_multihead_fixed"]?["tensorboard_cross_edges_from_branch1"] == 0)
    }

    @Test func scopesAndTensorsAreMappedToModulePaths() throws {
        let graph = try Repository.load(Self.eventFile("densenet121_multihead")).graph
        #expect(graph.name == "DenseNet121MultiHead")
        #expect(graph.nodes.filter { $0.op == "batch_norm" }.count == 253)
        #expect(graph.nodes.filter { $0.op == "conv2d" }.count == 248)
        #expect(graph.nodes.filter { $0.op == "linear" }.count == 5)
        // add_graph traces in eval mode: no running-statistic writes are in the file.
        #expect(graph.mode == .eval)
        let norm1 = graph.nodes.filter { $0.op == "batch_norm" && $0.module.hasSuffix("denseblock4.denselayer1.norm1") }
        #expect(norm1.map(\.module) == (1...5).map { "branch\($0).denseblock4.denselayer1.norm1" })
        #expect(norm1.first?.moduleType == "BatchNorm2d")
        // TorchScript names the shared tensor after branch1; the reader adds the name each call site uses.
        let weight = graph[norm1[1].storageInputs[0]]
        #expect(weight.names.first == "branch1.denseblock4.denselayer1.norm1.weight")
        #expect(weight.names.contains("branch2.denseblock4.denselayer1.norm1.weight"))
        #expect(graph[norm1[0].storageInputs[2]].kind == .buffer)
        #expect(graph.outputs.map { graph[$0].shape } == [[2, 18]])
    }

    /// Ops of modules in a ModuleList lose `heads` from their TorchScript scope; the tensors they read
    /// give it back.
    @Test func moduleListNamesAreRestoredFromTheTensorsOpsRead() throws {
        let separate = try report("list_heads")
        #expect(separate.branches == ["heads.0", "heads.1", "heads.2"])
        #expect(separate.independent == nil && separate.undecidedReason == .storageNotRecorded)
        let graph = try Repository.load(Self.eventFile("list_heads")).graph
        #expect(graph.nodes.contains { $0.module == "heads.1.2" && $0.op == "relu" }, "ops without parameters are restored too")
    }

    /// A model returning a dict (Hugging Face's outputs, traced with `strict=False`): TorchScript packs it
    /// with `prim::DictConstruct`, which the reader sees through as through tuples and lists, so each value
    /// is an output of its own, as in the exporter's trace (and an output made without the other heads is
    /// seen to be).
    @Test func aReturnedDictIsOneOutputPerValue() throws {
        let events = try Repository.load(Self.eventFile("dict_output")).graph
        let trace = try Repository.load("Tests/Fixtures/torch/dict_output.trace.json").graph
        #expect(events.outputs.count == trace.outputs.count && events.outputs.count > 1)
        #expect(events.outputs.map { events[$0].shape } == trace.outputs.map { trace[$0].shape })
    }

    /// The event file's graph of a fixture model, with `op module` for each op of `kinds` in it and in the
    /// exporter's trace of the same model: where TensorBoard's scopes put each op, next to where it ran.
    func callSites(_ model: String, of kinds: Set<String>) throws -> (events: Graph, calls: [String], traced: [String]) {
        let events = try Repository.load(Self.eventFile(model)).graph
        let trace = try Repository.load("Tests/Fixtures/torch/\(model).trace.json").graph
        func calls(_ graph: Graph) -> [String] { graph.nodes.filter { kinds.contains($0.op) }.map { "\($0.op) \($0.module)" } }
        return (events, calls(events), calls(trace))
    }

    /// Two ModuleLists of `Sequential(conv, BatchNorm, ReLU)` (a U-Net's `enc` and `dec`): TorchScript scopes
    /// the ops of `enc.0` and `dec.0` alike, `Sequential[0]/ReLU[2]`. Each op without tensors of its own
    /// takes the container of the nearest op in its scope that has them, so every op lands where the
    /// exporter puts it, and the deep-supervision heads are found as on the trace.
    @Test func alikeScopesInTwoModuleListsAreToldApartByTheNearestOp() throws {
        let (events, calls, traced) = try callSites("deep_supervision", of: ["conv2d", "batch_norm", "relu"])
        #expect(calls == traced)
        #expect(calls.contains("relu dec.0.2"))
        let found = BranchDiscovery.discover(events)
        #expect(found.names == ["seg_outputs.0", "seg_outputs.1"] && found.stages == ["up.0", "up.1"])
    }

    /// `copy.copy(head)` in every slot: each slot is a new Sequential holding the same layers, whose tensors
    /// TorchScript names after slot 0. Slots 1 and 2 are `Sequential[1]`, `Sequential[2]` with tensors of
    /// `heads.0`: they are slots of the list the nearest slot's tensors name (`heads`), as the trunk's ReLU,
    /// called as `self.trunk[1](t)`, is a slot of `trunk`. Every op lands where the exporter puts it, and the
    /// sharing between the slots is found.
    @Test func slotsWhoseTensorsNameAnotherSlotAreSlotsOfTheSameList() throws {
        let (events, calls, traced) = try callSites("copy_per_slot", of: ["linear", "batch_norm", "relu"])
        #expect(calls == traced)
        let report = try Analyzer.analyze(events)
        #expect(report.branches == ["heads.0", "heads.1", "heads.2"])
        #expect(report.findings.contains { $0.rule == "shared-storage" && $0.severity == .error })
    }

    /// GRUCell as TorchScript writes it: each gate projection cut in three by `unsafe_chunk`, some chunks
    /// then overwritten in place (`add_`, `sigmoid_`). TensorBoard writes one `prim::ListUnpack` node per
    /// chunk; each is an output of the chunking op, so overwriting one chunk is not overwriting its siblings
    /// (taken for one tensor, the chunks gave six in-place hazards on a model without any).
    @Test func listElementsAreOutputsOfTheirOwn() throws {
        let graph = try Repository.load(Self.eventFile("gru_decoder")).graph
        let chunks = graph.nodes.filter { $0.op == "unsafe_chunk" }
        #expect(!chunks.isEmpty && chunks.allSatisfy { $0.outputs.count == 3 })
        #expect(graph.nodes.contains { $0.inplace })
        #expect(try Analyzer.analyze(graph).findings.allSatisfy { $0.severity != .error })
    }

    /// One head object in all three slots of a ModuleList: TorchScript scopes all three calls, and names
    /// all their tensors, as `heads.0`. The file cannot tell the slots apart as branches, but it shows the
    /// bug itself: the three results are one computation, the same weights on the same features.
    @Test func oneHeadInEverySlotIsOneComputationThreeTimes() throws {
        let graph = try Repository.load(Self.eventFile("list_heads_shared")).graph
        #expect(graph.nodes.filter { $0.op == "linear" }.map(\.module) == ["heads.0.5", "heads.0.5", "heads.0.5"])
        let report = try Analyzer.analyze(graph)
        #expect(report.branches.isEmpty)
        #expect(report.independent == false)
        let duplicate = try #require(report.findings.first?.duplicateComputation)
        #expect(duplicate.modules == ["heads.0.5", "heads.0.5", "heads.0.5"] && duplicate.calls == 3)
        #expect(try Analyzer.analyze(try Repository.load(Self.eventFile("list_heads")).graph).findings.isEmpty, "deep copies: no finding")
    }

    @Test func directoryIsReadAsALogDirectory() throws {
        let graph = try Repository.load("Tests/Fixtures/torch/tensorboard/list_heads").graph
        #expect(graph.name == "ListHeads")
    }
}

/// Event files that are not what they should be: a clear error at a byte offset, never a crash.
@Suite struct BadEventFileTests {
    func fixture() throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: Repository.path(TensorBoardTests.eventFile("list_heads")))))
    }

    func error(_ bytes: [UInt8]) -> InputError? {
        do { _ = try TensorBoardGraphReader.read(bytes); return nil } catch { return error }
    }

    @Test func truncatedFile() throws {
        let bytes = try fixture()
        let cut = error(Array(bytes.prefix(bytes.count - 10)))
        #expect(cut?.message.contains("truncated record") == true)
        #expect(cut?.location.hasPrefix("byte ") == true)
        #expect(error(Array(bytes.prefix(5)))?.message.contains("truncated record header") == true)
    }

    @Test func flippedBitIsACheckSumError() throws {
        var bytes = try fixture()
        bytes[bytes.count / 2] ^= 0x10
        #expect(error(bytes)?.message.contains("checksum mismatch") == true)
        var header = try fixture()
        header[3] ^= 0x01
        #expect(error(header)?.message == "record length checksum mismatch (corrupted file)")
    }

    @Test func fileWithoutAGraph() throws {
        var reader = TFRecordReader(bytes: try fixture())
        let first = try #require(try reader.next())
        let versionOnly = Array(try fixture().prefix(first.upperBound + 4))
        #expect(error(versionOnly)?.message.contains("no graph in this event file") == true)
    }

    /// A TensorFlow / Keras graph in an event file: said to be one, not read as a PyTorch model without
    /// branches (exit 3). A PyTorch graph (the fixtures) passes the same check.
    @Test func aGraphNotWrittenByPyTorchIsSaidToBeOne() throws {
        var graph = Tensorboard_GraphDef()
        for (name, op) in [("input_1", "Placeholder"), ("dense/kernel", "VarHandleOp"), ("dense/MatMul/ReadVariableOp", "ReadVariableOp"), ("dense/MatMul", "MatMul")] {
            var node = Tensorboard_NodeDef()
            node.name = name
            node.op = op
            graph.node.append(node)
        }
        var event = Tensorboard_Event()
        event.what = .graphDef(try graph.serializedData())
        let data = Array(try event.serializedData())
        let message = error(Self.record(data))?.message ?? ""
        #expect(message.hasPrefix("this graph was not written by PyTorch's add_graph: its ops (Placeholder, VarHandleOp, ReadVariableOp, MatMul)"))
        #expect(message.contains("graphcheck_torch"))
        #expect(error(try fixture()) == nil)
    }

    /// One TFRecord: length, its checksum, the data, its checksum.
    static func record(_ data: [UInt8]) -> [UInt8] {
        var length = [UInt8](repeating: 0, count: 8)
        for k in 0..<8 { length[k] = UInt8((UInt64(data.count) >> (8 * UInt64(k))) & 0xFF) }
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }
        return length + le(CRC32C.masked(length)) + data + le(CRC32C.masked(data))
    }

    @Test func garbageRecordIsNotAnEvent() {
        #expect(error(Self.record([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))?.message.contains("not a TensorBoard event record") == true)
    }
}
