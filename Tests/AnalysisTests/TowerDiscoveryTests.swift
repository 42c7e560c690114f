@testable import Analysis
import GraphIR
import Testing
import TestSupport

/// Towers: a model with one result whose branches are fed one input each and fused further on (a
/// two-stream network, a multimodal classifier). Found only when the results give no heads.
@Suite struct TowerDiscoveryTests {
    /// Two inputs, each through the stream named for it (`streams[i]` gives the module path of stream i's
    /// layers), concatenated and classified by `fuse`.
    func twoStreams(_ streams: [[String]], shapes: [String: [Int]] = [:]) -> Graph {
        var g = SmallGraph(inputs: ["a", "b"], shapes: shapes)
        var last: [String] = []
        for (i, modules) in streams.enumerated() {
            var v = i == 0 ? "a" : "b"
            for (k, module) in modules.enumerated() {
                g.layer("s\(i)_\(k)", module, [v])
                v = "s\(i)_\(k)"
            }
            last.append(v)
        }
        g.op("c", "cat", in: "", last)
        g.layer("y", "fuse", ["c"])
        g.outputs("y")
        return g.graph
    }

    @Test func eachInputsStreamIsABranch() throws {
        let graph = twoStreams([["rgb.conv1", "rgb.conv2"], ["flow.conv1", "flow.conv2"]])
        let found = BranchDiscovery.discover(graph)
        #expect(found.names == ["rgb", "flow"])
        #expect(found.towerInputs == [0, 1])
        #expect(found.parent == "")
        #expect(try Analyzer.analyze(graph).independent == true)
    }

    /// One pretrained network assigned to both streams: the streams are still found (each reads its input
    /// under its name), and their weights are one storage.
    @Test func oneNetworkInBothStreamsIsSharedStorage() throws {
        var g = SmallGraph(inputs: ["a", "b"])
        g.share(["rgb.weight", "flow.weight"])
        g.op("s0", "linear", in: "rgb", ["a"], weights: ["rgb.weight"])
        g.op("s1", "linear", in: "flow", ["b"], weights: ["rgb.weight"])
        g.op("c", "cat", in: "", ["s0", "s1"])
        g.layer("y", "fuse", ["c"])
        g.outputs("y")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["rgb", "flow"])
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("shared-storage"))
    }

    /// A stream in two sibling modules (a stem and its blocks) is one branch; streams held in a ModuleList
    /// are its slots.
    @Test func aStreamOfSeveralChildrenAndStreamsInAList() {
        let split = BranchDiscovery.discover(twoStreams([["rgb_stem", "rgb_blocks"], ["flow_stem", "flow_blocks"]]))
        #expect(split.branches.map(\.prefixes) == [["rgb_stem", "rgb_blocks"], ["flow_stem", "flow_blocks"]])
        var graph = twoStreams([["streams.0.conv"], ["streams.1.conv"]])
        graph.modules = [ModuleInfo(path: "streams", type: "ModuleList")]
        #expect(BranchDiscovery.discover(graph).names == ["streams.0", "streams.1"])
    }

    /// A Siamese network calls one encoder on both inputs under one name: its ops read both, no towers.
    @Test func oneEncoderCalledOnBothInputsIsNoTower() throws {
        let graph = twoStreams([["encoder"], ["encoder"]])
        #expect(BranchDiscovery.discover(graph).branches.isEmpty)
        #expect(try Analyzer.analyze(graph).independent == nil)
    }

    /// A per-sample number (a diffusion step) embedded beside the image is conditioning, not a stream.
    @Test func aPerSampleNumberIsNoStream() {
        let graph = twoStreams([["conv_in"], ["time_embedding"]], shapes: ["b": [2]])
        #expect(BranchDiscovery.discover(graph).branches.isEmpty)
    }

    /// Heads found from the results come first: towers are only looked for when there are none.
    @Test func headsFromResultsWin() {
        var g = SmallGraph(inputs: ["a", "b"])
        g.layer("s0", "rgb", ["a"])
        g.layer("s1", "flow", ["b"])
        g.op("c", "cat", in: "", ["s0", "s1"])
        g.layer("h1", "head1", ["c"])
        g.layer("h2", "head2", ["c"])
        g.outputs("h1", "h2")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.names == ["head1", "head2"])
        #expect(found.towerInputs.isEmpty)
    }
}

extension TowerDiscoveryTests {
    /// SlowFast: the fast pathway's lateral connection is added into the slow one before both reach the
    /// classifier. Streams that meet twice are one network fed two inputs: no towers.
    @Test func streamsThatMeetBeforeTheEndAreNoTowers() {
        var g = SmallGraph(inputs: ["a", "b"])
        g.layer("s1", "slow1", ["a"])
        g.layer("f1", "fast1", ["b"])
        g.layer("l1", "lateral1", ["f1"])
        g.op("m", "add", in: "", ["s1", "l1"])
        g.layer("s2", "slow2", ["m"])
        g.layer("f2", "fast2", ["f1"])
        g.op("c", "cat", in: "", ["s2", "f2"])
        g.layer("y", "head", ["c"])
        g.outputs("y")
        #expect(BranchDiscovery.discover(g.graph).branches.isEmpty)
    }

    /// A sequence-to-sequence model with a projection per input: every decoder layer reads the encoder's
    /// output beside its own stream, so the streams meet at each layer.
    @Test func aDecoderReadingTheEncoderAtEachLayerIsNoPairOfTowers() {
        var g = SmallGraph(inputs: ["src", "tgt"])
        g.layer("s", "src_proj", ["src"])
        g.layer("t", "tgt_proj", ["tgt"])
        g.layer("memory", "model.encoder", ["s"])
        var x = "t"
        for i in 0..<2 {
            g.op("attn\(i)", "matmul", in: "model.decoder.\(i)", [x, "memory"])
            g.op("x\(i)", "add", in: "model.decoder.\(i)", [x, "attn\(i)"])
            x = "x\(i)"
        }
        g.layer("y", "out", [x])
        g.outputs("y")
        #expect(BranchDiscovery.discover(g.graph).branches.isEmpty)
    }
}

extension TowerDiscoveryTests {
    /// One input holding both streams, which the forward only takes parts of (`x[:, :3]`, `x[:, 3:]`): each
    /// part feeds a tower. Read whole as well, the input is one source, and the parts no towers.
    func stackedStreams(readWhole: Bool, oneEncoder: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.op("a", "slice", in: "", ["x"])
        g.op("b", "slice", in: "", ["x"])
        g.layer("s0", oneEncoder ? "encoder" : "rgb", ["a"])
        g.layer("s1", oneEncoder ? "encoder" : "flow", ["b"])
        g.op("c", "cat", in: "", readWhole ? ["s0", "s1", "x"] : ["s0", "s1"])
        g.layer("y", "fuse", ["c"])
        g.outputs("y")
        return g.graph
    }

    @Test func partsOfOneInputFeedTowers() throws {
        let found = BranchDiscovery.discover(stackedStreams(readWhole: false))
        #expect(found.names == ["rgb", "flow"])
        #expect(found.towerInputs == [0, 0])
        let report = try Analyzer.analyze(stackedStreams(readWhole: false))
        #expect(TextReporter.discovery(report)?.contains("(parts of input 0)") == true)
    }

    @Test func anInputReadWholeOrOneEncoderOnBothPartsHasNoTowers() {
        #expect(BranchDiscovery.discover(stackedStreams(readWhole: true)).branches.isEmpty)
        #expect(BranchDiscovery.discover(stackedStreams(readWhole: false, oneEncoder: true)).branches.isEmpty)
    }
}

extension TowerDiscoveryTests {
    /// Towers `text` (encoder, head) and `item` (encoder, then `item_head`), both heads' outputs returned;
    /// `readsResult`: item_head computes with item_encoder's features and text_head's returned result (its mean).
    /// `itemReturns`: item_encoder's features are returned too (a late fusion of what each tower returns).
    func towersWithHeads(readsResult: Bool, itemReturns: Bool = false, third: Bool = false, detached: Bool = false) -> Graph {
        var g = SmallGraph(inputs: third ? ["a", "b", "c"] : ["a", "b"])
        g.layer("t", "text_encoder", ["a"])
        g.layer("to", "text_head", ["t"])
        g.layer("i", "item_encoder", ["b"])
        var fused = "i"
        if readsResult {
            if detached { g.op("td", "detach", in: "", ["to"]) }
            g.op("m", "mean", in: "", [detached ? "td" : "to"])
            g.op("f", "add", in: "", ["i", "m"])
            fused = "f"
        }
        g.layer("io", "item_head", [fused])
        var outputs = ["to", "io"] + (itemReturns ? ["i"] : [])
        if third {
            g.layer("d", "doc_encoder", ["c"])
            g.layer("do", "doc_head", ["d"])
            outputs.append("do")
        }
        g.outputs(outputs)
        return g.graph
    }

    /// A tower's returned result read where the towers meet, beside a tower returning nothing of its own: the item
    /// tower's head reading the text tower's result (the leak), or a fusion meant to read it. No verdict, and the
    /// `--branch` that checks each tower with its own head.
    @Test func aTowersReturnedResultReadWhereTheyMeetIsUndecided() throws {
        let report = try Analyzer.analyze(towersWithHeads(readsResult: true))
        #expect(report.branches == ["text_encoder", "item_encoder"])
        #expect(report.independent == nil && report.undecidedReason == .towerResultRead)
        let read = try #require(report.discovery?.towerResultRead)
        #expect(read.returned == ["text_encoder", "text_head"] && read.without == ["item_encoder"] && read.reader == "item_head")
        #expect(read.suggested == [["text_encoder", "text_head"], ["item_encoder", "item_head"]])
        #expect(TextReporter.verdict(report).hasSuffix("--branch text_encoder,text_head --branch item_encoder,item_head"))
        // So given, the leak is found.
        let given = try Analyzer.analyze(towersWithHeads(readsResult: true), branches: ["text_encoder,text_head", "item_encoder,item_head"])
        #expect(given.independent == false && given.findings.map(\.rule).contains("gradient-leak"))
    }

    /// The same with a third tower whose own head gives the model a second result: heads are found from the results,
    /// and the text tower, its result taken for an intermediate, joins the item head's branch; said, not passed.
    @Test func aTowerJoiningAnotherTowersHeadThroughItsReturnedResultIsUndecided() throws {
        let report = try Analyzer.analyze(towersWithHeads(readsResult: true, third: true))
        #expect(report.independent == nil && report.undecidedReason == .towerResultRead)
        #expect(report.discovery?.towerResultRead?.suggested
            == [["text_encoder", "text_head"], ["item_encoder", "item_head"], ["doc_encoder", "doc_head"]])
    }

    /// Tower 0 (an encoder and a head, `towers[0]`) and tower 1's encoder (`towers[1]`), with `reader` computing with
    /// tower 1's features plus the mean of tower 0's returned result; `lists`: the paths that are ModuleLists.
    func resultRead(by reader: String, towers: [[String]], lists: [String]) -> Graph {
        var g = SmallGraph(inputs: ["a", "b"])
        g.layer("t", towers[0][0], ["a"])
        g.layer("to", towers[0][1], ["t"])
        g.layer("i", towers[1][0], ["b"])
        g.op("m", "mean", in: "", ["to"])
        g.op("f", "add", in: "", ["i", "m"])
        g.layer("io", reader, ["f"])
        g.outputs("to", "io")
        var graph = g.graph
        graph.modules = lists.map { ModuleInfo(path: $0, type: "ModuleList") }
        return graph
    }

    /// Encoders and heads in two ModuleLists (`encoders.i`, `heads.i`), `heads.1` reading tower 0's returned result:
    /// a slot beside `heads.0`, in the one slot tower 1 lacks, it is tower 1's head, not a fusion — a verdict, the leak.
    @Test func aReaderInTheSlotATowerLacksIsThatTowersHead() throws {
        let graph = resultRead(by: "heads.1", towers: [["encoders.0", "heads.0"], ["encoders.1"]], lists: ["encoders", "heads"])
        let report = try Analyzer.analyze(graph)
        #expect(report.discovery?.branches.map(\.prefixes) == [["encoders.0", "heads.0"], ["encoders.1", "heads.1"]])
        #expect(report.independent == false && report.findings.map(\.rule).contains("gradient-leak"))
        #expect(TextReporter.discovery(report)?.contains("heads.1 taken for encoders.1's head, a slot beside heads.0 in one container") == true)
    }

    /// Towers in two ModuleLists, tower 1's head reading tower 0's encoder output (not its result) beside its own
    /// encoder's: tower 0 makes a result no other branch reads, so it is no input stage of tower 1 (OWL-ViT's text
    /// tower hands its only result, the queries, to the class head) but a head of its own, and the read a leak.
    @Test(arguments: [2, 3]) func aTowerWhoseResultNoOneReadsIsNoInputStage(towers: Int) throws {
        var g = SmallGraph(inputs: (0..<towers).map { "x\($0)" })
        for t in 0..<towers { g.layer("e\(t)", "encs.\(t)", ["x\(t)"]) }
        g.op("f", "add", in: "", ["e1", "e0"])
        for t in 0..<towers { g.layer("o\(t)", "heads.\(t)", [t == 1 ? "f" : "e\(t)"]) }
        g.outputs((0..<towers).map { "o\($0)" })
        var graph = g.graph
        graph.modules = [ModuleInfo(path: "encs", type: "ModuleList"), ModuleInfo(path: "heads", type: "ModuleList")]
        let report = try Analyzer.analyze(graph)
        #expect(report.discovery?.branches.map(\.prefixes) == (0..<towers).map { ["encs.\($0)", "heads.\($0)"] })
        #expect(report.independent == false && report.findings.map(\.rule).contains("gradient-leak"))
    }

    /// An image tower with a head of its own (`img_enc`, `img_head`) and a question encoder whose head reads the image
    /// encoder's features beside its own (`ans_head(q_enc(q) + img_enc(x))`): the image encoder a trunk of both heads
    /// (a fusion meant to read it), or the question tower's head reading the image tower (a leak). No verdict; read
    /// detached, both readings agree: independent.
    @Test(arguments: [false, true]) func aTowersFeaturesReadBesideATowerReturningNothingIsUndecided(detached: Bool) throws {
        var g = SmallGraph(inputs: ["x", "q"])
        g.layer("e", "img_enc", ["x"])
        g.layer("a", "img_head", ["e"])
        g.layer("f", "q_enc", ["q"])
        if detached { g.op("ed", "detach", in: "", ["e"]) }
        g.op("s", "add", in: "", ["f", detached ? "ed" : "e"])
        g.layer("b", "ans_head", ["s"])
        g.outputs("a", "b")
        let report = try Analyzer.analyze(g.graph)
        if detached {
            #expect(report.independent == true && report.discovery?.towerResultRead == nil)
        } else {
            #expect(report.undecidedReason == .towerResultRead && report.discovery?.towerResultRead?.result == false)
            #expect(report.discovery?.towerResultRead?.suggested == [["img_enc", "img_head"], ["q_enc", "ans_head"]])
        }
    }

    /// Negative: the reader in one container with a module of every tower (`layers = [enc_a, enc_b, fusion]`) is no
    /// head of one of them: no verdict.
    @Test func aReaderInAContainerOfStagesStaysUndecided() throws {
        let report = try Analyzer.analyze(resultRead(by: "layers.2", towers: [["layers.0", "proj"], ["layers.1"]], lists: ["layers"]))
        #expect(report.undecidedReason == .towerResultRead && report.discovery?.towerResultRead?.bySlot == false)
    }

    /// Negative: each tower returns its own result and the fusion reads them (late fusion), or the towers meet
    /// without reading a returned result: towers, and a verdict.
    @Test func lateFusionOfEveryTowersResultKeepsItsVerdict() throws {
        let late = try Analyzer.analyze(towersWithHeads(readsResult: true, itemReturns: true))
        #expect(late.discovery?.towerResultRead == nil && late.independent == true)
        let apart = try Analyzer.analyze(towersWithHeads(readsResult: false, third: true))
        #expect(apart.discovery?.towerResultRead == nil && apart.independent == true)
        // Read detached, the result carries no gradient into the other tower's head: independent on either reading.
        let detached = try Analyzer.analyze(towersWithHeads(readsResult: true, detached: true))
        #expect(detached.discovery?.towerResultRead == nil && detached.independent == true)
    }
}
