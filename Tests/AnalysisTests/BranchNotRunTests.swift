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
        #expect(TextReporter.verdict(report).contains("an eval-mode export skips training-only heads"))
    }

    /// A head that did not run may hold a tensor of one that did (LXMERT's `obj_predict_head`, called only given
    /// visual labels, built around `cls.predictions`' LayerNorm): they share it whenever both run, so the heads
    /// that ran are not independent. A path that is the very object of a head that ran (an alias attribute,
    /// `self.classifier = self.head1`) is no head of its own; nor is a module that holds only its own tensors.
    @Test(arguments: ["shares", "alias", "own"])
    func aHeadThatDidNotRunSharingAHeadsTensor(_ kind: String) throws {
        var g = SmallGraph(inputs: ["x"])
        g.share(kind == "own" ? ["aux.norm.weight"] : ["head1.norm.weight", "aux.norm.weight"])
        g.share(kind == "alias" ? ["head1.weight", "aux.weight"] : ["aux.fc.weight"])
        g.layer("t", "trunk", ["x"])
        g.op("n", "layer_norm", in: "head1.norm", ["t"], weights: ["head1.norm.weight"])
        g.layer("a", "head1", ["n"])
        g.layer("b", "head2", ["t"])
        g.outputs("a", "b")
        let aux = kind == "alias" ? "h1" : "aux"
        g.modules([("", "m"), ("trunk", "t"), ("head1", "h1"), ("head1.norm", "n1"), ("head2", "h2"), ("aux", aux), ("aux.norm", "n1")])
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["head1", "head2"])
        #expect(report.independent == (kind != "shares"))
        #expect(report.findings.contains { $0.rule == "shared-storage" } == (kind == "shares"))
    }

    /// Traced in training mode, a head that did not run was skipped by the forward for those inputs (FLAVA's
    /// masked-modeling heads run only when given masked inputs): exporting in training mode is no advice.
    @Test func headsSkippedInTrainingModeAreSaidToNeedOtherInputs() throws {
        var g = SmallGraph(inputs: ["x"], mode: .train)
        g.share(["mlm_head.weight"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1", ["t"])
        g.layer("b", "head2", ["t"])
        g.outputs("a", "b")
        let verdict = TextReporter.verdict(try Analyzer.analyze(g.graph))
        #expect(verdict.contains("not checked: mlm_head has parameters but did not run in this trace (the forward did not call it for the inputs traced"))
        #expect(!verdict.contains("export in training mode"))
    }
}

extension BranchNotRunTests {
    /// A typo in the forward (`return head1(t), head1(t), head3(t)`): the duplicate computation is the error,
    /// and the head that never ran is named beside it, since it is why the user's second output is head1's.
    @Test func aHeadThatDidNotRunIsNamedBesideAnError() throws {
        var g = SmallGraph(inputs: ["x"])
        g.share(["head1.weight"]); g.share(["head2.weight"]); g.share(["head3.weight"])
        g.layer("t", "trunk", ["x"])
        g.op("a", "linear", in: "head1", ["t"], weights: ["head1.weight"])
        g.op("b", "linear", in: "head1", ["t"], weights: ["head1.weight"])
        g.op("c", "linear", in: "head3", ["t"], weights: ["head3.weight"])
        g.outputs("a", "b", "c")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.independent == false)
        #expect(TextReporter.verdict(report).contains("NOT independent: 1 error; not checked: head2 has parameters but did not run in this trace"))
    }
}

extension BranchNotRunTests {
    /// `heads[task](t)` over `ModuleList([head] * 3)`: one slot ran, and the others are the same object. Their
    /// weights were read under the name of the slot that ran, so they are not "without ops" by storage; the
    /// report names them as that object, and says how to check them as heads. Where the input says `heads` is a
    /// container (`listed`), its slots are the heads and the sharing decides; where it does not, the verdict
    /// stays open. Slots that are objects of their own and did not run are named as before, and a
    /// parameter-free slot is nothing to check.
    func oneHeadPerCall(sameObject: Bool, listed: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.share(["heads.0.weight", "heads.1.weight", "heads.2.weight"].filter { sameObject || $0 == "heads.0.weight" })
        if !sameObject { g.share(["heads.1.weight"]); g.share(["heads.2.weight"]) }
        g.layer("t", "trunk", ["x"])
        g.op("r", "relu", in: "acts.0", ["t"])
        g.op("y", "linear", in: "heads.0", ["r"], weights: ["heads.0.weight"])
        g.outputs("y")
        var graph = g.graph
        let instances = sameObject ? ["m2", "m2", "m2", "m3", "m3"] : ["m2", "m4", "m5", "m3", "m6"]
        graph.modules = [ModuleInfo(path: "", type: "Model", instance: "m0"), ModuleInfo(path: "trunk", type: "Linear", instance: "m1")]
            + (listed ? [ModuleInfo(path: "heads", type: "ModuleList", instance: "m7")] : [])
            + zip(["heads.0", "heads.1", "heads.2", "acts.0", "acts.1"], instances).map { ModuleInfo(path: $0, type: "Linear", instance: $1) }
        return graph
    }

    @Test func slotsThatAreTheObjectOfASlotThatRanAreNamedAsIt() throws {
        let report = try Analyzer.analyze(oneHeadPerCall(sameObject: true))
        #expect(report.independent == nil && report.undecidedReason == .noBranches)
        #expect(report.modulesNotRun == ["heads.1", "heads.2"])
        #expect(report.notRunSameObject == ["heads.1": "heads.0", "heads.2": "heads.0"])
        let text = TextReporter.verdict(report)
        #expect(text.contains("not checked: heads.1, heads.2 are the module object heads.0 is (one object in several slots) and only heads.0 ran"))
        #expect(text.contains("--branch heads.0 --branch heads.1 --branch heads.2"))
        #expect(!text.contains("eval-mode"), "not a training-only head")
        #expect(JSONReporter.render(report).contains(#""not_run_same_object": {"heads.1": "heads.0", "heads.2": "heads.0"}"#))
        let given = try Analyzer.analyze(oneHeadPerCall(sameObject: true), branches: ["heads.0", "heads.1", "heads.2"])
        #expect(given.independent == false, "given as heads, they share every weight")
    }

    /// The slots of a ModuleList holding one object, one of which ran: that they share every weight is a fact
    /// whichever slot runs, so they are the branches and the verdict is NOT independent.
    @Test func slotsOfAListThatAreTheObjectThatRanAreBranchesThatShare() throws {
        let report = try Analyzer.analyze(oneHeadPerCall(sameObject: true, listed: true))
        #expect(report.independent == false)
        #expect(report.branches == ["heads.0", "heads.1", "heads.2"] && report.branchesNotRun == ["heads.1", "heads.2"])
        #expect(report.discovery?.routed == true && report.discovery?.parent == "heads")
        #expect(report.findings.map(\.rule).contains("shared-storage"))
        #expect(TextReporter.discovery(report)?.hasPrefix("branches: slots of heads of which only heads.0 ran") == true)
        #expect(JSONReporter.render(report).contains(#""routed": true"#))
        // Slots of their own: nothing shared, nothing to decide.
        let own = try Analyzer.analyze(oneHeadPerCall(sameObject: false, listed: true))
        #expect(own.independent == nil && own.undecidedReason == .noBranches && own.discovery?.routed == false)
    }

    @Test func slotsOfTheirOwnThatDidNotRunAreNamedAsBefore() throws {
        let report = try Analyzer.analyze(oneHeadPerCall(sameObject: false))
        #expect(report.modulesNotRun == ["heads.1", "heads.2"])
        #expect(report.notRunSameObject.isEmpty)
        #expect(TextReporter.verdict(report).contains("not checked: heads.1, heads.2 have parameters but did not run in this trace"))
    }
}

extension BranchNotRunTests {
    /// A head whose result only a loss reads, called without the labels that make the forward return that loss
    /// (UperNet's `auxiliary_head`): it ran, but nothing it computes reaches an output, so discovery sees one
    /// result. The report names it, outermost, and says what to export instead; a module whose results do
    /// reach an output (the trunk, the main head) is not named, nor is one that ran no parameter (a pooling step).
    func auxiliaryOnlyALossReads(returned: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "backbone", ["x"])
        g.layer("y", "decode_head.classifier", ["t"])
        g.op("p", "avg_pool2d", in: "pool", ["t"])
        g.layer("a1", "auxiliary_head.conv", ["t"])
        g.layer("a2", "auxiliary_head.classifier", ["a1"])
        returned ? g.outputs("y", "a2") : g.outputs("y")
        return g.graph
    }

    @Test func headsWhoseResultsReachNoOutputAreNamed() throws {
        let report = try Analyzer.analyze(auxiliaryOnlyALossReads(returned: false))
        #expect(report.independent == nil && report.undecidedReason == .noBranches)
        #expect(report.modulesUnreached == ["auxiliary_head"])
        #expect(TextReporter.verdict(report).contains("auxiliary_head ran but nothing it computes reaches the model's outputs"))
        #expect(JSONReporter.render(report).contains(#""modules_unreached": ["auxiliary_head"]"#))
    }

    @Test func headsWhoseResultsAreReturnedAreNotNamed() throws {
        let report = try Analyzer.analyze(auxiliaryOnlyALossReads(returned: true))
        #expect(report.branches == ["decode_head", "auxiliary_head"])
        #expect(report.modulesUnreached.isEmpty)
        #expect(!JSONReporter.render(report).contains("modules_unreached"))
    }
}
