import Analysis
import GraphIR
import Testing
import TestSupport

/// Shapes of real models and real bugs that the data flow alone gets wrong unless the analysis knows what
/// a result is, what a head is, what `.detach()` cuts, and where an in-place op was written.
@Suite struct CascadeAndViewTests {
    /// A trunk `t` and two heads; `head2` reads `head2Input` (and `t`).
    func twoHeads(head2Input: String?, detach: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc1", ["t"])
        g.layer("o1", "head1.fc2", ["a"])
        var borrowed = head2Input
        if detach, let input = head2Input {
            g.op("d", "detach", in: "", [input])
            borrowed = "d"
        }
        if let borrowed {
            g.op("m", "cat", in: "", ["t", borrowed])
            g.layer("o2", "head2", ["m"])
        } else {
            g.layer("o2", "head2", ["t"])
        }
        g.outputs("o1", "o2")
        return g.graph
    }

    /// A cascade: head2 reads head1's *output*, which the model also returns. head1's output is a result
    /// of its own although a learned op goes on computing with it, so both heads are found and the leak is
    /// reported between them.
    @Test func aHeadReadingAnothersReturnedOutputIsALeakBetweenTwoHeads() throws {
        let graph = twoHeads(head2Input: "o1")
        #expect(BranchDiscovery.discover(graph).names == ["head1", "head2"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false)
        #expect(Set(report.findings.filter { $0.severity == .error }.map(\.rule)) == ["cross-branch-dependency", "gradient-leak"])
    }

    /// head1's result and what head2 reads beside it (`features`, given the trunk's output): the cascade is a
    /// leak between two heads whatever way head2 gets the features.
    func cascade(_ features: (inout SmallGraph) -> String) throws -> Report {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("o1", "head1", ["t"])
        let f = features(&g)
        g.op("s", "mean", in: "head2", ["o1"])
        g.op("m", "add", in: "head2", [f, "s"])
        g.layer("o2", "head2", ["m"])
        g.outputs("o1", "o2")
        return try Analyzer.analyze(g.graph)
    }

    /// The trunk run again for the second head (`head2(trunk(x) + head1(trunk(x)))`) computes the features
    /// head1's result came from all the same: the cascade is still a leak between two heads, not one head.
    @Test(arguments: [true, false])
    func aCascadeOnTheTrunkRunAgainIsALeakBetweenTwoHeads(again: Bool) throws {
        let report = try cascade { g in
            guard again else { return "t" }
            g.layer("t2", "trunk", ["x"])
            return "t2"
        }
        #expect(report.branches == ["head1", "head2"])
        #expect(report.independent == false)
    }

    /// A head that reads the trunk's features through `.detach()` (OWLv2's objectness head) and another head's
    /// result beside them still has a result of its own: the cascade is a leak between two heads.
    @Test(arguments: [true, false])
    func aCascadeBesideDetachedFeaturesIsALeakBetweenTwoHeads(detached: Bool) throws {
        let report = try cascade { g in
            g.op("d", detached ? "detach" : "alias", in: "", ["t"])
            return "d"
        }
        #expect(report.branches == ["head1", "head2"])
        #expect(report.independent == false)
    }

    /// A head whose own call gates its output by another head's result (a forward hook multiplying by
    /// `sigmoid(head1(t))`) is a leak between two heads, whether the model returns the results apart or
    /// concatenated: a `cat` keeps head1's elements its own beside the mixed ones.
    @Test(arguments: [true, false])
    func aHeadGatedByAnothersResultIsALeakBetweenTwoHeads(concatenated: Bool) throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("o1", "head1", ["t"])
        g.layer("h", "head2", ["t"])
        g.op("s", "sigmoid", in: "head2", ["o1"])
        g.op("o2", "mul", in: "head2", ["h", "s"])
        if concatenated {
            g.op("y", "cat", in: "", ["o1", "o2"])
            g.outputs("y")
        } else {
            g.outputs("o1", "o2")
        }
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["head1", "head2"])
        #expect(report.independent == false)
    }

    /// The same cascade through `.detach()` trains each head apart: no error.
    @Test func aDetachedCascadeIsIndependent() throws {
        let report = try Analyzer.analyze(twoHeads(head2Input: "o1", detach: true))
        #expect(report.branches == ["head1", "head2"])
        #expect(report.independent == true)
        let intermediate = try Analyzer.analyze(twoHeads(head2Input: "a", detach: true))
        #expect(intermediate.independent == true)
        let attached = try Analyzer.analyze(twoHeads(head2Input: "a"))
        #expect(attached.independent == false)
    }

    /// A TorchScript graph (TensorBoard) does not record `requires_grad`: the cascade's tie runs into head1's
    /// parameters, which may be frozen (then nothing leaks), so it is a warning and no verdict. A tensor two
    /// heads share ties them whatever its gradient, and stays an error there.
    @Test func withoutRequiresGradADataTieIsUndecidedAndSharingIsNot() throws {
        var cascade = twoHeads(head2Input: "o1")
        cascade.storageIdentity = .path
        let report = try Analyzer.analyze(cascade)
        #expect(report.independent == nil && report.undecidedReason == .inputCannotTell)
        #expect(report.findings.filter { $0.severity == .warning }.map(\.rule).sorted() == ["cross-branch-dependency", "gradient-leak"])
        #expect(report.findings.allSatisfy { $0.undecidable })

        var g = SmallGraph(inputs: ["x"])
        g.share(["head1.weight", "head2.weight"])
        g.layer("t", "trunk", ["x"])
        g.op("o1", "linear", in: "head1", ["t"], weights: ["head1.weight"])
        g.op("o2", "linear", in: "head2", ["t"], weights: ["head2.weight"])
        g.outputs("o1", "o2")
        var shared = g.graph
        shared.storageIdentity = .path
        let sharing = try Analyzer.analyze(shared)
        #expect(sharing.independent == false)
        #expect(sharing.findings.filter { $0.severity == .error }.map(\.rule).contains("shared-storage"))
    }

    /// No branches in a TensorBoard file: `add_graph` traced in eval mode, so a training-only head (an aux
    /// classifier) is missing, and the verdict says so; a trace (which records its mode) does not.
    @Test func noBranchesFromAnEvalModeFileSaysWhatItCannotHold() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("y", "fc", ["t"])
        g.outputs("y")
        var events = g.graph
        events.storageIdentity = .path
        #expect(TextReporter.verdict(try Analyzer.analyze(events)).contains("add_graph traces in eval mode"))
        #expect(!TextReporter.verdict(try Analyzer.analyze(g.graph)).contains("eval mode"))
    }

    /// timm's `features_only` and transformers' hidden states return the trunk's intermediates; a stage
    /// that is an in-place activation (no parameter of its own) is a tap on the trunk, not a head.
    @Test func returnedFeaturesOfAChainAreNotHeads() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("c", "conv1", ["x"])
        g.op("f0", "relu", in: "act1", ["c"], inplace: true)
        g.op("p", "max_pool2d", in: "maxpool", ["f0"])
        g.layer("f1", "layer1", ["p"])
        g.layer("f2", "layer2", ["f1"])
        g.outputs("f0", "f1", "f2")
        #expect(BranchDiscovery.discover(g.graph).branches.isEmpty)
    }

    /// A two-tower model (CLIP): each tower encodes its own input and is projected; the text tower's hidden
    /// states are returned and also gathered at each sequence's last token, at positions computed from the
    /// input ids. An index selects, it mixes nothing in: the hidden states are the tower's intermediate, not
    /// a cascade, so the towers are the two heads — and a LayerNorm shared between them is found.
    func twoTowers(sharedNorm: Bool) -> Graph {
        var g = SmallGraph(inputs: ["ids", "pixels"])
        if sharedNorm { g.share(["text_model.norm.weight", "vision_model.norm.weight"]) }
        g.layer("e", "text_model.embeddings", ["ids"])
        g.op("h", "layer_norm", in: "text_model.norm", ["e"], weights: ["text_model.norm.weight"])
        g.op("last", "argmax", in: "text_model", ["ids"], dtype: .int64)
        g.op("pooled", "index", in: "text_model", ["h", "last"])
        g.layer("te", "text_projection", ["pooled"])
        g.layer("p", "vision_model.embeddings", ["pixels"])
        g.op("v", "layer_norm", in: "vision_model.norm", ["p"], weights: ["vision_model.norm.weight"])
        g.layer("ie", "visual_projection", ["v"])
        g.op("logits", "matmul", in: "", ["te", "ie"])
        g.outputs("logits", "te", "ie", "h")
        return g.graph
    }

    @Test func twoTowersAreTwoHeadsWhenTheTextTowerIsGatheredByPosition() throws {
        let found = BranchDiscovery.discover(twoTowers(sharedNorm: false))
        #expect(found.names == ["text_model", "vision_model"])
        #expect(found.trunk.isEmpty)
        #expect(try Analyzer.analyze(twoTowers(sharedNorm: false)).independent == true)
        let shared = try Analyzer.analyze(twoTowers(sharedNorm: true))
        #expect(shared.independent == false)
        #expect(shared.findings.map(\.rule).contains("shared-storage"))
    }

    /// A sequence-to-sequence model returns its encoder's output, which the decoder's cross-attention reads
    /// alone: the encoder is the decoder's input, not a head beside it (no verdict, no false alarm).
    @Test func anEncoderOutputReadByTheDecoderIsNotAHead() throws {
        var g = SmallGraph(inputs: ["ids"])
        g.op("e", "embedding", in: "shared", ["ids"], weights: ["shared.weight"])
        g.layer("enc", "encoder", ["e"])
        g.op("d", "embedding", in: "shared", ["ids"], weights: ["shared.weight"])
        g.layer("q", "decoder.q", ["d"])
        g.layer("k", "decoder.k", ["enc"])
        g.op("att", "matmul", in: "decoder", ["q", "k"])
        g.layer("logits", "lm_head", ["att"])
        g.outputs("logits", "enc")
        let graph = g.graph
        #expect(BranchDiscovery.discover(graph).branches.isEmpty)
        #expect(try Analyzer.analyze(graph).independent == nil)
    }

    /// Values on paths that end nowhere (a base tensor's new version after a write through a view that
    /// nothing reads) are not results; they must not turn an encoder into the trunk.
    @Test func deadEndsAreNotResults() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for i in 1...2 {
            g.layer("g\(i)", "enc\(i)", ["t"])
            g.op("s\(i)", "slice", in: "enc\(i)", ["g\(i)"])
            g.op("s\(i)b", "sigmoid", in: "enc\(i)", ["s\(i)"], inplace: true)
            g.op(nil, "sigmoid", in: "enc\(i)", ["g\(i)", "s\(i)b"], inplace: true)
            g.layer("o\(i)", "cls\(i)", ["s\(i)b"])
        }
        g.outputs("o1", "o2")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.terminals == 2)
        #expect(found.branches.map(\.prefixes) == [["enc1", "cls1"], ["enc2", "cls2"]])
    }

    /// `self.head1(F.relu_(t))` then `self.head2(t)`: the in-place op runs in the parent, but it was written
    /// as head1's argument (the exporter's `argument_of`), so head2 reading `t` afterwards is a hazard. The
    /// same op without `argument_of` is an in-place ReLU at the end of the trunk.
    @Test(arguments: [true, false])
    func anInPlaceOpWrittenAsOneHeadsArgument(written: Bool) throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.op("r", "relu", in: "", ["t"], inplace: true, attributes: written ? [("argument_of", .string("head1"))] : [])
        g.layer("o1", "head1", ["r"])
        g.layer("o2", "head2", ["r"])
        g.outputs("o1", "o2")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["head1", "head2"])
        #expect(report.findings.map(\.rule) == (written ? ["inplace-hazard"] : []))
        #expect(report.independent == !written)
    }

    /// `x[:, :4] = 0` inside head1 writes into the trunk's tensor through a view: the exporter gives the
    /// base a new version made by the same in-place op, and head2 reading it is a hazard.
    @Test func aWriteThroughAViewInOneHeadReachesAnother() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.op("v", "slice", in: "head1", ["t"])
        g.op("v2", "fill", in: "head1", ["v"], inplace: true)
        g.op("t2", "fill", in: "head1", ["t", "v2"], inplace: true, attributes: [("through_view", .string("v2"))])
        g.layer("o1", "head1.fc", ["t2"])
        g.layer("o2", "head2", ["t2"])
        g.outputs("o1", "o2")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["head1", "head2"])
        #expect(report.findings.map(\.rule).contains("inplace-hazard"))
    }

    /// A head's pre-hook scales its token of the trunk's tensor in place (`h[:, 0] *= 2`), and a head after it
    /// pools `h[:, 0:2]` of the tensor's new version: it sees the scaled token (an in-place hazard). Pooling
    /// `h[:, 1:4]`, it reads only elements the write left alone: fine (VOLO's aux head on `x[:, 1:]`).
    @Test(arguments: [(0, 2, true), (1, 4, false)])
    func aLaterHeadReadingElementsAHeadWroteThroughAView(start: Int, end: Int, seen: Bool) throws {
        var g = SmallGraph(inputs: ["x"], shapes: ["x": [2, 4, 8]])
        g.op("h", "linear", in: "trunk", ["x"], weights: ["trunk.weight"], shape: [2, 4, 8])
        g.op("t", "select", in: "", ["h"], attributes: [("dim", .int(1)), ("index", .int(0))], shape: [2, 8])
        g.op("t2", "mul", in: "head1", ["t"], inplace: true, shape: [2, 8])
        g.op("h2", "mul", in: "head1", ["h", "t2"], inplace: true, attributes: [("through_view", .string("t2"))], shape: [2, 4, 8])
        g.op("o1", "linear", in: "head1", ["t2"], weights: ["head1.weight"])
        g.op("s", "slice", in: "", ["h2"], attributes: [("dim", .int(1)), ("start", .int(start)), ("end", .int(end))], shape: [2, end - start, 8])
        g.op("m", "mean", in: "", ["s"], shape: [2, 8])
        g.op("o2", "linear", in: "head2", ["m"], weights: ["head2.weight"])
        g.outputs("o1", "o2")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["head1", "head2"])
        #expect(report.independent == !seen)
        #expect(report.findings.contains { $0.rule == "inplace-hazard" } == seen)
    }

    /// YOLOS's box head scaling its slice of the last hidden state in place (`x[:, -n:]`, a forward pre-hook's
    /// `mul_`) after the class head read it: nothing reads the new values, but the model returns the hidden
    /// state, so the caller gets what the head did to it. Not returned, the write touches nobody.
    @Test(arguments: [true, false])
    func aHeadsWriteIntoATrunkTensorTheModelReturns(returned: Bool) throws {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("t", "trunk", ["x"])
        g.op("c", "clone", in: "head1", ["t"])
        g.layer("o1", "head1.fc", ["c"])
        g.op("v", "slice", in: "", ["t"])
        g.op("v2", "mul", in: "head2", ["v"], inplace: true)
        g.op("t2", "mul", in: "head2", ["t", "v2"], inplace: true, attributes: [("through_view", .string("v2"))])
        g.layer("o2", "head2.fc", ["v2"])
        g.outputs(returned ? ["o1", "o2", "t2"] : ["o1", "o2"])
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["head1", "head2"])
        let hazards = report.findings.compactMap { finding -> Evidence.InplaceHazard? in
            if case .inplaceHazard(let e) = finding.evidence { return e } else { return nil }
        }
        #expect(hazards.map(\.timing) == (returned ? [.returned] : []))
        #expect(hazards.flatMap(\.readerModules) == (returned ? ["trunk"] : []))
        #expect(report.independent == !returned)
    }

    /// DETR-for-segmentation's class head scaling the decoder's output in place as it starts (a forward
    /// pre-hook's `mul_`), which its sibling box head and the mask head one level up then read: the write
    /// reaches every result, yet the class head is still a head, and the write is the hazard between them.
    /// The same scaling out of place is the negative: three heads, independent.
    @Test(arguments: [true, false])
    func aHeadWritingTheTrunksOutputInPlaceStaysAHead(inplace: Bool) throws {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("t", "detr.model.encoder", ["x"])
        g.layer("h", "detr.model.decoder", ["t"])
        g.op("s", "mul", in: "detr.cls", ["h"], inplace: inplace)
        g.layer("o1", "detr.cls.fc", ["s"])
        let read = inplace ? "s" : "h"
        g.layer("b", "detr.box.fc1", [read])
        g.layer("o2", "detr.box.fc2", ["b"])
        g.layer("q", "attention", [read, "t"])
        g.layer("o3", "mask.conv", ["q"])
        g.outputs("o1", "o2", "o3")
        let report = try Analyzer.analyze(g.graph)
        #expect(Set(report.branches) == ["detr.cls", "detr.box", "mask"] || Set(report.branches) == ["detr.cls", "detr.box", "attention"])
        #expect(report.findings.map(\.rule).contains("inplace-hazard") == inplace)
        #expect(report.independent == !inplace)
    }

    /// TRL's value head beside GPT-2's LM head, whose forward pre-hook scales the hidden state in place through
    /// the alias the LM model hands it: the base's new version, which the value head reads, is the same write.
    /// Both heads stay heads (no branches before: exit 3), and the write is the hazard between them.
    @Test(arguments: [true, false])
    func aHeadWritingThroughAnAliasStaysAHead(inplace: Bool) throws {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("t", "lm.transformer", ["x"])
        g.op("a", "alias", in: "lm", ["t"])
        g.op("a2", "mul", in: "lm.head", ["a"], inplace: inplace)
        if inplace { g.op("t2", "mul", in: "lm.head", ["t", "a2"], inplace: true, attributes: [("through_view", .string("a2"))]) }
        g.layer("o1", "lm.head", ["a2"])
        g.layer("o2", "value_head", [inplace ? "t2" : "t"])
        g.outputs("o1", "o2")
        let report = try Analyzer.analyze(g.graph)
        #expect(Set(report.branches) == ["lm.head", "value_head"])
        #expect(report.findings.map(\.rule) == (inplace ? ["inplace-hazard"] : []))
        #expect(report.independent == !inplace)
    }

    /// MobileBERT's MLM head adds its bias in place into the logits it computed; a hook then hands the NSP head
    /// their mean, detached. Reading a head's result after the head finished changing it is no overwrite (and,
    /// detached, no leak). The same in-place add into the trunk's tensor the NSP head then reads is one.
    @Test(arguments: [true, false])
    func aHeadChangingItsOwnResultInPlaceOverwritesNothing(own: Bool) throws {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("t", "trunk", ["x"])
        g.layer("l", "head1.fc", ["t"])
        g.op("l2", "add", in: "head1", [own ? "l" : "t"], inplace: true)
        g.op("d", "detach", in: "head2", [own ? "l2" : "l"])
        g.op("m", "mean", in: "head2", ["d"])
        g.op("u", "add", in: "head2", [own ? "t" : "l2", "m"])
        g.layer("o2", "head2.fc", ["u"])
        g.outputs(own ? ["l2", "o2"] : ["l", "o2"])
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["head1", "head2"])
        #expect(report.findings.map(\.rule).contains("inplace-hazard") == !own)
        #expect(report.independent == own)
    }

    /// `self.relu(t)` with `ReLU(inplace=True)` after the trunk, both heads reading its result: discovery counts
    /// the write as the trunk's (it forks into the heads), yet the report still lists `relu` in the trunk.
    @Test func aModuleWhoseInPlaceWriteMovedIsStillListedInTheTrunk() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.op("r", "relu", in: "relu", ["t"], inplace: true)
        g.layer("o1", "head1", ["r"])
        g.layer("o2", "head2", ["r"])
        g.outputs("o1", "o2")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.names == ["head1", "head2"])
        #expect(found.trunk == ["trunk", "relu"])
    }
}

