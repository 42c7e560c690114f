import Analysis
import GraphIR
import Testing
import TestSupport

/// Parallel parts inside one branch found automatically that share storage: a mixture's experts beside its
/// router, built as `ModuleList([expert] * 3)`. Whether they are meant to be heads of their own is not in the
/// graph (Deformable DETR shares its class head across decoder layers on purpose), so the report cannot
/// decide and says how to check them; it never passes.
@Suite struct SharingInsideBranchesTests {
    /// A router and three experts, each reading the rows of the trunk's output the router sends it, its result
    /// weighted by the router's and written into the output (top-1 routing). `oneExpert`: the experts are one module object.
    func mixture(oneExpert: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        if oneExpert { g.share(["experts.0.weight", "experts.1.weight", "experts.2.weight"]) }
        g.layer("t", "trunk", ["x"])
        g.layer("r", "router", ["t"])
        g.op("w", "softmax", in: "", ["r"])
        var out = "zeros"
        g.op(out, "zeros_like", in: "", ["t"])
        for i in 0..<3 {
            g.op("pick\(i)", "eq", in: "", ["r"], attributes: [("other", .int(i))], dtype: .bool)
            g.op("rows\(i)", "index", in: "", ["t", "pick\(i)"])
            g.layer("e\(i)", "experts.\(i)", ["rows\(i)"])
            g.op("g\(i)", "mul", in: "", ["e\(i)", "w"])
            g.op("o\(i)", "index_put", in: "", [out, "g\(i)"], inplace: true)
            out = "o\(i)"
        }
        g.outputs(out)
        return g.graph
    }

    @Test func expertsThatAreOneObjectBesideTheRouterLeaveTheVerdictOpen() throws {
        let report = try Analyzer.analyze(mixture(oneExpert: true))
        #expect(report.branches == ["router", "experts"])
        #expect(report.independent == nil)
        #expect(report.undecidedReason == .partsShareStorage)
        let warning = try #require(report.findings.first { $0.sharedStorage?.within == "experts" })
        #expect(warning.severity == .warning)
        #expect(warning.branches == ["experts.0", "experts.1", "experts.2"])
        #expect(warning.help?.contains("--branch experts.0 --branch experts.1 --branch experts.2") == true)
        #expect(TextReporter.verdict(report).contains("cannot decide: parts inside experts share storage"))
    }

    /// Experts of their own are heads beside the router, each compared with the others (`experts` holds them).
    @Test func expertsOfTheirOwnAreIndependent() throws {
        let report = try Analyzer.analyze(mixture(oneExpert: false))
        #expect(report.branches == ["router", "experts.0", "experts.1", "experts.2"])
        #expect(report.discovery?.otherLevel(of: "experts.1") == "experts")
        #expect(report.independent == true)
        #expect(report.findings.isEmpty)
    }

    /// The user answers the question either way: the experts as branches (the bug), or the sharing declared.
    @Test func givenBranchesOrDeclaredSharingDecide() throws {
        let asHeads = try Analyzer.analyze(mixture(oneExpert: true), branches: ["experts.0", "experts.1", "experts.2"])
        #expect(asHeads.independent == false)
        #expect(asHeads.findings.contains { $0.rule == "shared-storage" && $0.severity == .error && $0.sharedStorage?.within == nil })
        let declared = try Analyzer.analyze(mixture(oneExpert: true), allowShared: ["experts.*"])
        #expect(declared.independent == true)
        #expect(declared.findings.allSatisfy { $0.severity == .info })
    }
}

extension SharingInsideBranchesTests {
    /// Deformable DETR without box refinement: one class head and one box head in every decoder-layer slot,
    /// the slot-i pair reading layer i's output (a select of the stacked hidden states). Heads applied once per
    /// level, by design: the verdict stands. `sameLevel: false` has the box heads read other levels than the
    /// class heads, which says nothing about levels: no verdict.
    func perLevelHeads(sameLevel: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.share(["class_embed.0.weight", "class_embed.1.weight"])
        g.share(["bbox_embed.0.weight", "bbox_embed.1.weight"])
        g.layer("h0", "decoder.layers.0", ["x"])
        g.layer("h1", "decoder.layers.1", ["h0"])
        g.op("hs", "stack", in: "decoder", ["h0", "h1"])
        for i in 0..<2 {
            g.op("c_in\(i)", "select", in: "", ["hs"], attributes: [("dim", .int(1)), ("index", .int(i))])
            g.layer("c\(i)", "class_embed.\(i)", ["c_in\(i)"])
            g.op("b_in\(i)", "select", in: "", ["hs"], attributes: [("dim", .int(1)), ("index", .int(sameLevel ? i : 1 - i))])
            g.layer("b\(i)", "bbox_embed.\(i)", ["b_in\(i)"])
        }
        g.op("logits", "stack", in: "", ["c0", "c1"])
        g.op("boxes", "stack", in: "", ["b0", "b1"])
        g.outputs("logits", "boxes")
        return g.graph
    }

    @Test func headsAppliedOncePerLevelKeepTheirVerdict() throws {
        let report = try Analyzer.analyze(perLevelHeads(sameLevel: true))
        #expect(report.branches == ["class_embed", "bbox_embed"])
        #expect(report.independent == true)
        #expect(report.findings.isEmpty)
        let crossed = try Analyzer.analyze(perLevelHeads(sameLevel: false))
        #expect(crossed.undecidedReason == .partsShareStorage)
    }
}
