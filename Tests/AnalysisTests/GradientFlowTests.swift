import Analysis
import GraphIR
import Testing
import TestSupport

/// Heads are tied in training by what gradients flow through, not by every value they read: an index, a
/// mask and an operand the op's backward ignores (`no_grad_inputs`: the boxes RoIAlign pools from) pass
/// values on but no gradient. Mask R-CNN's mask head pools from the boxes its box head returned, and the
/// two are still two heads, trained apart.
@Suite struct GradientFlowTests {
    /// A box head returning boxes, and a mask head pooling the trunk's features at those boxes.
    /// `gradientFree`: the pooling op's backward ignores the boxes, as RoIAlign's does.
    func boxAndMaskHeads(gradientFree: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("boxes", "box_head", ["t"])
        g.op("r", "roi_align", in: "mask_pool", ["t", "boxes"], attributes: gradientFree ? [("no_grad_inputs", .ints([1]))] : [])
        g.layer("m", "mask_head", ["r"])
        g.outputs("boxes", "m")
        return g.graph
    }

    @Test func aHeadPoolingWhereAnotherHeadPointsIsAHeadOfItsOwn() throws {
        let report = try Analyzer.analyze(boxAndMaskHeads(gradientFree: true))
        #expect(report.branches.count == 2)
        #expect(report.independent == true, "\(report.findings.map(\.message))")
    }

    /// Without the op saying so, the boxes carry the box head's gradient into the mask head: the mask head
    /// cascades from the box head, and the leak is found between the two.
    @Test func readingTheBoxesWithTheirGradientIsALeak() throws {
        let report = try Analyzer.analyze(boxAndMaskHeads(gradientFree: false))
        #expect(report.branches.count == 2)
        #expect(report.findings.contains { $0.rule == "gradient-leak" })
    }

    /// head2 gathers the trunk's features at head1's argmax: an integer index carries no gradient.
    func indexFromAnotherHead(dtype: DType?) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1", ["t"])
        g.op("i", "argmax", in: "", ["a"], dtype: dtype)
        g.op("p", "gather", in: "head2", ["t", "i"])
        g.layer("b", "head2.fc", ["p"])
        g.outputs("a", "b")
        return g.graph
    }

    @Test func anIndexTakenFromAnotherHeadTiesNothing() throws {
        let graph = indexFromAnotherHead(dtype: .int64)
        let context = AnalysisContext(graph: graph, branches: ["head1", "head2"])
        #expect(GradientLeakRule().check(context).isEmpty)
        #expect(CrossBranchDependencyRule().check(context).isEmpty)
        // The same read of a floating-point value carries head1's gradient into head2.
        let floating = AnalysisContext(graph: indexFromAnotherHead(dtype: .float32), branches: ["head1", "head2"])
        #expect(!GradientLeakRule().check(floating).isEmpty)
        #expect(!CrossBranchDependencyRule().check(floating).isEmpty)
    }

    /// A TorchScript graph (TensorBoard) records no dtypes: the op says its result is an index or a mask.
    @Test func anIndexOrMaskWithoutADtypeTiesNothing() throws {
        let unrecorded = AnalysisContext(graph: indexFromAnotherHead(dtype: nil), branches: ["head1", "head2"])
        #expect(GradientLeakRule().check(unrecorded).isEmpty)
        // A router's scores compared with their maximum mask the rows an expert reads (top-1 routing).
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("r", "router", ["t"])
        g.op("top", "amax", in: "", ["r"], dtype: nil)
        g.op("chosen", "eq", in: "", ["r", "top"], dtype: nil)
        g.op("mask", "to", in: "", ["chosen"], dtype: nil)
        g.op("rows", "mul", in: "", ["t", "mask"], dtype: nil)
        g.layer("e", "expert", ["rows"])
        g.outputs("r", "e")
        let report = try Analyzer.analyze(g.graph, branches: ["router", "expert"])
        #expect(report.independent == true, "\(report.findings.map(\.message))")
    }
}

extension GradientFlowTests {
    /// head2 reads a value head1 made from no parameter (anchors from the image size, proposals decoded from
    /// detached deltas): it requires no gradient, and ties head2 to nothing head1 could train.
    func anchorsFromAnotherHead(learned: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc", ["t"])
        if learned {
            g.layer("anchors", "head1.anchors", ["t"])
        } else {
            g.op("anchors", "arange", in: "head1.anchors", [])
        }
        g.op("p", "add", in: "head2", ["t", "anchors"])
        g.layer("b", "head2.fc", ["p"])
        g.outputs("a", "b")
        return g.graph
    }

    @Test func aValueThatRequiresNoGradientTiesNothing() {
        let constant = AnalysisContext(graph: anchorsFromAnotherHead(learned: false), branches: ["head1", "head2"])
        #expect(CrossBranchDependencyRule().check(constant).isEmpty)
        let learned = AnalysisContext(graph: anchorsFromAnotherHead(learned: true), branches: ["head1", "head2"])
        #expect(!CrossBranchDependencyRule().check(learned).isEmpty)
    }
}

extension GradientFlowTests {
    /// head2 reads head1's intermediate; `frozen`: head1's weights do not train (`requires_grad_(False)`).
    func readsIntermediate(frozen: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        for name in ["head1.fc1.weight", "head1.fc2.weight"] { g.share([name], trainable: !frozen) }
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc1", ["t"])
        g.layer("o1", "head1.fc2", ["a"])
        g.op("s", "add", in: "", ["t", "a"])
        g.layer("b", "head2.fc", ["s"])
        g.outputs("o1", "b")
        return g.graph
    }

    /// A frozen head takes no gradient: another head reading its tensors changes nothing of it.
    @Test func readingAFrozenHeadsTensorsLeaksNothing() {
        let frozen = AnalysisContext(graph: readsIntermediate(frozen: true), branches: ["head1", "head2"])
        #expect(GradientLeakRule().check(frozen).isEmpty)
        #expect(CrossBranchDependencyRule().check(frozen).isEmpty)
        let trained = AnalysisContext(graph: readsIntermediate(frozen: false), branches: ["head1", "head2"])
        #expect(!GradientLeakRule().check(trained).isEmpty)
        #expect(!CrossBranchDependencyRule().check(trained).isEmpty)
    }
}

extension GradientFlowTests {
    /// head2 computes with head1's weight (`t @ head1.weight`, written in the parent's forward). Detached
    /// (`no_grad_inputs` on the weight's operand, as the exporter writes it), the read sends no gradient back:
    /// training head2 changes nothing of head1's. Not detached, it is a leak.
    func borrowedWeight(detached: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1", ["t"])
        g.op("m", "matmul", in: "", ["t"], weights: ["head1.weight"], attributes: detached ? [("no_grad_inputs", .ints([1]))] : [])
        g.layer("b", "head2", ["m"])
        g.outputs("a", "b")
        return g.graph
    }

    @Test func aDetachedWeightBorrowedFromAnotherHeadTrainsNothingOfIt() throws {
        let detached = AnalysisContext(graph: borrowedWeight(detached: true), branches: ["head1", "head2"])
        #expect(GradientLeakRule().check(detached).isEmpty)
        let attached = AnalysisContext(graph: borrowedWeight(detached: false), branches: ["head1", "head2"])
        #expect(GradientLeakRule().check(attached).map(\.rule) == ["gradient-leak"])
    }
}

extension GradientFlowTests {
    /// head1's forward updates a buffer of the parent's (a running centre, as DINO's head keeps) that head2
    /// reads afterwards: state one branch wrote, read by another. Said as what it is, not as the BatchNorm
    /// statistics of a shared module.
    @Test func aBufferOneHeadWritesAndAnotherReadsIsNamed() throws {
        var g = SmallGraph(inputs: ["x"])
        g.share(["center"], kind: .buffer)
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1", ["t"])
        g.op(nil, "add_", in: "", ["a"], writes: ["center"], inplace: true)
        g.layer("h", "head2", ["t"])
        g.op("b", "sub", in: "", ["h"], weights: ["center"])
        g.outputs("a", "b")
        let findings = CrossBranchDependencyRule().check(AnalysisContext(graph: g.graph, branches: ["head1", "head2"]))
        let wording = try #require(findings.first).wording
        #expect(wording.notes.contains { $0.contains("writes center and another reads it afterwards") })
        #expect(!wording.notes.contains { $0.contains("BatchNorm") })
        #expect(wording.help == "give each branch a buffer of its own, or update it from the trunk only")
    }

    /// One BatchNorm object of the parent's applied after each head's body (`self.norm` reused): in training
    /// mode head2's call updates running statistics head1's call updated, but its output follows its own
    /// batch, and the module is the trunk's, as its weight is. No dependency between the heads. The same
    /// statistics named under both heads (the seed's shared BatchNorm) still are one.
    @Test func aParentsBatchNormUpdatedAfterEachHeadTiesNothing() throws {
        func graph(under modules: [String]) -> Graph {
            var g = SmallGraph(inputs: ["x"])
            g.share(modules.map { "\($0).running_mean" }, kind: .buffer, trainable: false)
            g.layer("t", "trunk", ["x"])
            for (i, module) in zip(1...2, modules.count == 1 ? [modules[0], modules[0]] : modules) {
                g.layer("b\(i)", "branch\(i)", ["t"])
                g.op("n\(i)", "batch_norm", in: module, ["b\(i)"], weights: ["\(modules[0]).running_mean"], writes: ["\(modules[0]).running_mean"])
                g.layer("o\(i)", "fc\(i)", ["n\(i)"])
            }
            g.outputs("o1", "o2")
            return g.graph
        }
        let branches = [Branch(name: "branch1", prefixes: ["branch1", "fc1"]), Branch(name: "branch2", prefixes: ["branch2", "fc2"])]
        let parents = AnalysisContext(graph: graph(under: ["norm"]), branches: branches)
        #expect(CrossBranchDependencyRule().check(parents).isEmpty)
        let shared = AnalysisContext(graph: graph(under: ["branch1.norm", "branch2.norm"]), branches: branches)
        #expect(CrossBranchDependencyRule().check(shared).map(\.rule) == ["cross-branch-dependency"])
    }
}

/// A VQ-VAE: the encoder's output `z`, its distances to the codebook's vectors computed in the parent's
/// forward, the argmin's codes looked up in the codebook, and the straight-through `z + (zq - z).detach()`
/// into the decoder. The distances read the codebook's weight, but only to pick codes: backward never runs
/// through them, so they tie the codebook to nothing.
@Suite struct CodebookTests {
    /// `codesReturned`: the model also returns the codes (integers: they start no backward pass). `ema`: the
    /// codebook is updated in place after the lookup, as an EMA quantizer does under `no_grad`.
    func vectorQuantizer(codesReturned: Bool = false, ema: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.share(["codebook.weight"])
        g.layer("z", "enc", ["x"])
        g.op("d", "linear", in: "", ["z"], weights: ["codebook.weight"], saves: ["codebook.weight"])
        g.op("codes", "argmin", in: "", ["d"], dtype: .int64)
        g.op("zq", "embedding", in: "codebook", ["codes"], weights: ["codebook.weight"])
        if ema {
            g.op("average", "mul", in: "", ["z"])
            g.op(nil, "copy", in: "", ["average"], writes: ["codebook.weight"], inplace: true)
        }
        g.op("diff", "sub", in: "", ["zq", "z"])
        g.op("st", "detach", in: "", ["diff"])
        g.op("zs", "add", in: "", ["z", "st"])
        g.layer("y", "dec", ["zs"])
        g.op("dz", "detach", in: "", ["z"])
        g.op("loss", "mse_loss", in: "", ["zq", "dz"])
        if codesReturned { g.outputs("y", "loss", "codes") } else { g.outputs("y", "loss") }
        return g.graph  // `detach` cuts the gradient by its name
    }

    @Test func distancesThatOnlyPickCodesTieNothing() throws {
        let context = AnalysisContext(graph: vectorQuantizer(), branches: ["enc", "codebook"])
        #expect(SharedStorageRule().check(context).isEmpty)
        #expect(CrossBranchDependencyRule().check(context).isEmpty)
        #expect(GradientLeakRule().check(context).isEmpty)
    }

    /// The same read with backward running through it (a head's function written in the parent's forward,
    /// `F.linear(z, self.codebook.weight)` returned) uses the other branch's weight.
    @Test func theSameReadOnTheGradientPathUsesTheWeight() throws {
        var g = SmallGraph(inputs: ["x"])
        g.share(["codebook.weight"])
        g.layer("z", "enc", ["x"])
        g.op("d", "linear", in: "", ["z"], weights: ["codebook.weight"])
        g.layer("c", "codebook", ["x"])
        g.outputs("d", "c")
        let context = AnalysisContext(graph: g.graph, branches: ["enc", "codebook"])
        #expect(!SharedStorageRule().check(context).isEmpty)
        #expect(!GradientLeakRule().check(context).isEmpty)
    }

    /// Returned codes start no backward pass: the codebook overwritten after the distances saved it breaks nothing.
    @Test func returnedCodesStartNoBackwardPass() throws {
        let graph = vectorQuantizer(codesReturned: true, ema: true)
        let backward = graph.reachedByBackward()
        #expect(!backward[graph.nodes.firstIndex { $0.op == "argmin" }!])
        #expect(InplaceHazardRule().check(AnalysisContext(graph: graph, branches: [String]())).isEmpty)
    }
}
