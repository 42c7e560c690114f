import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport

@Suite struct InplaceAndReuseTests {
    @Test func resnetHeadThatReLUsTheSharedFeaturesInPlace() throws {
        let report = try Analyzer.analyze(try Repository.load("samples/resnet18_heads_inplace.json").graph)
        #expect(report.independent == false)
        let hazard = try #require(report.findings.first { $0.rule == "inplace-hazard" }?.inplaceHazard)
        #expect([hazard.node.op, hazard.node.module] == ["relu", "head1"])
        #expect(hazard.timing == .readAfter)
        #expect(hazard.readerModules.map { $0.split(separator: ".").first.map(String.init) } == ["head2", "head3"])
        #expect(hazard.branches == ["head1", "head2", "head3"])
        let fixed = try Analyzer.analyze(try Repository.load("samples/resnet18_heads.json").graph)
        #expect(fixed.independent == true)
        #expect(fixed.findings.isEmpty)
    }

    /// A write in the parent's forward between the heads' reads (`o0 = head0(mem)`, then `m = mem.mul_(0.5)` meant
    /// for head1, then `head2(mem)`): head2 reads what was written for head1, or both read what head0 never saw;
    /// autograd cannot tell (head0 saved nothing). With one head after it (`twoAfter: false`) the write is the one
    /// head's; before every read, or read on by the trunk into two heads (an aux head tapping the features the trunk
    /// then changes), it is the trunk's. A reader in the parent's forward (`head1(m * 1)`) counts for its one head.
    @Test(arguments: [
        (twoAfter: true, position: "between", viaParent: false, hazard: true),
        (twoAfter: true, position: "between", viaParent: true, hazard: true),
        (twoAfter: false, position: "between", viaParent: false, hazard: false),
        (twoAfter: true, position: "first", viaParent: false, hazard: false),
        (twoAfter: true, position: "trunkGoesOn", viaParent: false, hazard: false),
    ])
    func aTrunkWriteBetweenTheHeadsReads(twoAfter: Bool, position: String, viaParent: Bool, hazard: Bool) throws {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("t", "trunk", ["x"])
        var read = "t"
        if position == "first" {
            g.op("w", "mul", in: "", ["t"], inplace: true)
            read = "w"
        }
        g.op("c0", "clone", in: "head0", [read])
        g.layer("o0", "head0.fc", ["c0"])
        if position != "first" {
            g.op("w", "mul", in: "", ["t"], inplace: true)
            read = "w"
        }
        if position == "trunkGoesOn" {
            g.layer("u", "trunk2", ["w"])
            read = "u"
        }
        if viaParent { g.op("r", "mul", in: "", [read]) }
        g.layer("o1", "head1.fc", [viaParent ? "r" : read])
        var outputs = ["o0", "o1"]
        if twoAfter {
            g.layer("o2", "head2.fc", [read])
            outputs.append("o2")
        }
        g.outputs(outputs)
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == (twoAfter ? ["head0", "head1", "head2"] : ["head0", "head1"]))
        let hazards = report.findings.compactMap(\.inplaceHazard)
        #expect(hazards.map(\.timing) == (hazard ? [.between] : []))
        if hazard {
            #expect(hazards[0].earlier.map(\.module) == ["head0"])
            #expect(hazards[0].branches == ["head0", "head1", "head2"])
            #expect(hazards[0].readerModules == (viaParent ? ["", "head2.fc"] : ["head1.fc", "head2.fc"]))
            #expect(hazards[0].wording.message.contains("after head0 read it"))
        }
        #expect(report.independent == !hazard)
    }

    /// The in-place ReLUs and `out += identity` inside ResNet and DenseNet blocks read tensors nothing else reads.
    @Test(arguments: ["resnet18", "resnet50", "densenet121"])
    func blocksInPlaceOpsAreFine(type: String) throws {
        let spec = #"{"format": "graphcheck.model", "version": 1, "model": {"type": "\#(type)"}, "inputs": [{"name": "x", "shape": [2, 3, 64, 64]}]}"#
        let report = try Analyzer.analyze(try Repository.trace(spec).graph)
        #expect(report.findings.isEmpty)
    }

    @Test func siameseEncoderIsReuseNotAnError() throws {
        let input = try Repository.trace(RuleExamples_siamese)
        let report = try Analyzer.analyze(input.graph)
        #expect(report.findings.map(\.rule) == ["module-reuse"])
        let reuse = try #require(report.findings[0].moduleReuse)
        #expect([reuse.module, reuse.type] == ["encoder", "Linear"] && reuse.calls == 2 && !reuse.declared)
        #expect(reuse.places.map(\.module) == ["encoder", "encoder"])
        let allowed = try Analyzer.analyze(input.graph, allowShared: ["encoder"])
        #expect(allowed.findings[0].moduleReuse?.declared == true)
        #expect(allowed.independent == nil, "no branches, no verdict; and no error")
    }

    /// `self.query.weight.unsqueeze(0).repeat(n, 1, 1)` in a model's forward (DETR's query embeddings)
    /// reads the weight through a view and then uses it once: no module is called twice. Used by two ops
    /// that compute, it is.
    @Test func aWeightReadThroughAViewAndUsedOnceIsNoReuse() {
        func graph(_ kinds: [String]) -> Graph {
            var g = SmallGraph(inputs: ["x"])
            for (i, kind) in kinds.enumerated() { g.op("q\(i)", kind, in: "model", ["x"], weights: ["query.weight"]) }
            g.outputs("q\(kinds.count - 1)")
            return g.graph
        }
        #expect(ModuleReuseRule().check(AnalysisContext(graph: graph(["unsqueeze", "repeat"]), branches: [String]())).isEmpty)
        #expect(ModuleReuseRule().check(AnalysisContext(graph: graph(["linear", "linear"]), branches: [String]())).map(\.rule) == ["module-reuse"])
    }

    /// A level embedding's rows read one per feature level (`self.level_embed.weight[i]`, Mask2Former's
    /// decoders) are parts of one weight, each used once: the module is called once. The same row read
    /// twice is two uses.
    @Test func rowsOfOneWeightReadOneByOneAreNoReuse() {
        func graph(_ rows: [Int]) -> Graph {
            var g = SmallGraph(inputs: ["x"])
            var last = "x"
            for (i, row) in rows.enumerated() {
                g.op("e\(i)", "add", in: "decoder", [last], weights: ["decoder.level_embed.weight"],
                     attributes: [("read_bytes", .ints([row * 64, row * 64 + 64]))])
                last = "e\(i)"
            }
            g.outputs(last)
            return g.graph
        }
        #expect(ModuleReuseRule().check(AnalysisContext(graph: graph([0, 1, 2]), branches: [String]())).isEmpty)
        let reuse = ModuleReuseRule().check(AnalysisContext(graph: graph([0, 1, 1]), branches: [String]()))
        #expect(reuse.map(\.rule) == ["module-reuse"] && reuse.first?.moduleReuse?.calls == 2)
    }

    /// TensorBoard cannot tell the slots of a ModuleList holding one head apart, but it shows the reuse (and
    /// the one computation the three results are).
    @Test func oneHeadInEverySlotShowsAsReuse() throws {
        let report = try Analyzer.analyze(try Repository.load("Tests/Fixtures/torch/tensorboard/list_heads_shared").graph)
        #expect(report.findings.map(\.rule) == ["duplicate-computation", "module-reuse"])
        let reuse = try #require(report.findings.last?.moduleReuse)
        #expect([reuse.module, reuse.type] == ["heads.0", "Sequential"] && reuse.calls == 3)
    }

    /// head1 returned, and run again on the same features to gate head2's result in the parent's forward
    /// (`head2(t) * sigmoid(head1(t))`, with or without `no_grad`, which TensorBoard does not record): the second
    /// run is no second head, so not the one computation two heads would be. Both runs returned, it is.
    @Test(arguments: [false, true])
    func aHeadRunAgainToGateAnotherIsNoDuplicateHead(returnedTwice: Bool) {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.op("a", "linear", in: "head1", ["t"], weights: ["head1.weight"])
        g.op("g", "linear", in: "head1", ["t"], weights: ["head1.weight"])
        g.layer("h2", "head2", ["t"])
        g.op("s", "sigmoid", in: "", ["g"])
        g.op("b", "mul", in: "", ["h2", "s"])
        g.layer("c", "head3", ["t"])
        if returnedTwice { g.outputs("a", "g", "b", "c") } else { g.outputs("a", "b", "c") }
        let found = DuplicateComputationRule().check(AnalysisContext(graph: g.graph, branches: ["head1", "head2", "head3"]))
        #expect(found.map(\.rule) == (returnedTwice ? ["duplicate-computation"] : []))
    }
}

private let RuleExamples_siamese = RuleDocumentation.description(of: "module-reuse")!.triggeringExamples[0]

/// Weight tying: two output heads sharing the embedding matrix on purpose.
@Suite struct TiedWeightsTests {
    @Test func declaredTieIsIndependentUndeclaredIsNot() throws {
        let report = try expectIndependent(Repository.sample("tied_lm.json"))
        #expect(report.findings.map(\.severity) == [.info, .info, .info])
        #expect(report.findings.map(\.rule) == ["shared-storage", "duplicate-computation", "gradient-leak"])
        #expect(throws: IndependenceFailure.self) { try expectIndependent(Repository.sample("tied_lm_undeclared.json")) }
    }

    @Test func tiedParameterIsOneStorageWithEveryName() throws {
        let graph = try Repository.load("samples/tied_lm.json").graph
        let weight = try #require(graph.storages.first { $0.names.contains("lm_head.weight") })
        #expect(weight.names == ["embedding.weight", "lm_head.weight", "mlm_head.weight"])
    }

    @Test func badTiesAreLocated() {
        let base = try! String(contentsOfFile: Repository.sample("tied_lm.json"), encoding: .utf8)
        let spec = base.replacingOccurrences(of: #""weight": "emb.weight""#, with: #""weight": "emb.bias""#)
        let error = Repository.loadError(spec)
        #expect(error?.message == #"Embedding has no parameter "bias""#)
        #expect(error?.location.hasPrefix("$.model.children.lm_head.tie.weight") == true)
        let mismatch = base.replacingOccurrences(of: #""out_features": 100,"#, with: #""out_features": 99,"#)
        #expect(Repository.loadError(mismatch)?.message == "cannot tie Linear.weight of shape [99, 16] to emb.weight of shape [100, 16]")
    }
}

/// One module object in several slots (`nn.ModuleList([block] * 3)` in a stack): each slot is called once
/// under its own path, so only the module table (which object each path is) shows one set of weights used
/// three times.
@Suite struct SlotReuseTests {
    /// A stack of three slots, each a block with a layer, called in turn; `oneObject`: the slots (and
    /// their layers) are one object. `heads`: two heads read the stack's output.
    func stack(oneObject: Bool, heads: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        var v = "x"
        for i in 0..<3 {
            let layer = "blocks.\(i).fc"
            if oneObject && i == 0 { g.share(["blocks.0.fc.weight", "blocks.1.fc.weight", "blocks.2.fc.weight"]) }
            g.op("b\(i)", "linear", in: layer, [v], weights: [oneObject ? "blocks.0.fc.weight" : "\(layer).weight"])
            v = "b\(i)"
        }
        if heads {
            g.layer("h1", "head1", [v])
            g.layer("h2", "head2", [v])
            g.outputs("h1", "h2")
        } else {
            g.outputs(v)
        }
        var graph = g.graph
        graph.modules = [ModuleInfo(path: "blocks", type: "ModuleList", instance: "m1")] + (0..<3).flatMap { i in
            [ModuleInfo(path: "blocks.\(i)", type: "Block", instance: oneObject ? "m2" : "m2\(i)"),
             ModuleInfo(path: "blocks.\(i).fc", type: "Linear", instance: oneObject ? "m3" : "m3\(i)")]
        }
        return graph
    }

    @Test func oneObjectInEverySlotOfAStackIsReportedAtTheSlots() throws {
        let report = try Analyzer.analyze(stack(oneObject: true))
        #expect(report.findings.map(\.rule) == ["module-reuse"])
        let reuse = try #require(report.findings.first?.moduleReuse)
        #expect(reuse.slots == ["blocks.0", "blocks.1", "blocks.2"], "the blocks, not their layers as well")
        #expect(reuse.calls == 3 && reuse.type == "Block")
        #expect(report.independent == nil, "no branches: reuse is information, not a verdict")
    }

    @Test func aStackInTheTrunkOfTwoHeadsIsReportedToo() throws {
        let report = try Analyzer.analyze(stack(oneObject: true, heads: true))
        #expect(report.branches == ["head1", "head2"])
        #expect(report.independent == true)
        #expect(report.findings.compactMap(\.moduleReuse).map(\.slots) == [["blocks.0", "blocks.1", "blocks.2"]])
    }

    @Test func slotsOfTheirOwnAreNoReuse() throws {
        #expect(try Analyzer.analyze(stack(oneObject: false)).findings.isEmpty)
    }

    /// Between branches the one object is shared storage, an error: not reported again as reuse.
    @Test func slotsThatAreBranchesAreSharedStorageNotReuse() throws {
        let report = try Analyzer.analyze(stack(oneObject: true), branches: ["blocks.0", "blocks.1", "blocks.2"])
        #expect(report.findings.contains { $0.rule == "shared-storage" })
        #expect(!report.findings.contains { $0.rule == "module-reuse" })
    }

    /// A backbone sliced so that its last layer is also head1's first (`trunk[2]` and `head1[0]` one Linear):
    /// each slot is called once, in the trunk and in head1, and head2's loss trains that layer of head1. The
    /// model's own parts are the trunk's, so the verdict stands; the reuse is reported at the slots.
    @Test(arguments: [true, false])
    func aLayerInTheTrunkAndInOneHeadIsReportedAtTheSlots(oneObject: Bool) throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("a", "trunk.0", ["x"])
        g.layer("t", "trunk.2", ["a"], kind: "linear")
        g.layer("h", "head1.0", ["t"])
        g.layer("o1", "head1.2", ["h"])
        g.layer("o2", "head2", ["t"])
        g.outputs("o1", "o2")
        var graph = g.graph
        graph.modules = [ModuleInfo(path: "trunk.2", type: "Linear", instance: "m1"),
                         ModuleInfo(path: "head1.0", type: "Linear", instance: oneObject ? "m1" : "m2")]
        let report = try Analyzer.analyze(graph)
        #expect(report.branches == ["head1", "head2"])
        let reuse = report.findings.compactMap(\.moduleReuse)
        #expect(reuse.map(\.slots) == (oneObject ? [["trunk.2", "head1.0"]] : []))
        #expect(reuse.map(\.branch) == (oneObject ? ["head1"] : []))
        #expect(report.independent == true)
    }
}
