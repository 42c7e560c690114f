@testable import Analysis
import FormatSupport
import GraphIR
import Testing
import TestSupport

/// Heads are found from the model's results and its module tree, and a sharing bug between them must show
/// up as a finding between the heads, never make them vanish. Each case is a model written op by op.
@Suite struct HeadDiscoveryTests {
    /// A trunk and `heads` heads, each a body module and a classifier called from the model's forward, the
    /// results concatenated (the seed's shape). `extra` runs between the trunk and the heads.
    func multiHead(_ heads: Int = 3, extra: (inout SmallGraph) -> Void = { _ in }, head: ((inout SmallGraph, Int) -> Void)? = nil) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        extra(&g)
        for i in 1...heads {
            if let head { head(&g, i) } else {
                g.layer("b\(i)", "branch\(i)", ["t"])
                g.op("p\(i)", "relu", in: "", ["b\(i)"])
                g.layer("o\(i)", "classifier\(i)", ["p\(i)"])
            }
        }
        g.op("y", "cat", in: "", (1...heads).map { "o\($0)" })
        g.outputs("y")
        return g.graph
    }

    @Test func headsConcatenatedAtTheEndAreFoundWithTheirClassifiers() {
        let found = BranchDiscovery.discover(multiHead())
        #expect(found.names == ["branch1", "branch2", "branch3"])
        #expect(found.branches[0].prefixes == ["branch1", "classifier1"])
        #expect(found.trunk == ["trunk"])
        #expect(found.parent == "")
    }

    /// The leak the tool exists to find: head2 reads head1's intermediate. The heads stay, the leak is
    /// reported between them.
    @Test func aHeadReadingAnothersIntermediateIsStillAHead() throws {
        let graph = multiHead(head: { g, i in
            g.layer("b\(i)", "head\(i).fc1", ["t"])
            if i == 2 {
                g.op("m", "add", in: "", ["b2", "b1"])
                g.layer("o2", "head2.fc2", ["m"])
            } else {
                g.layer("o\(i)", "head\(i).fc2", ["b\(i)"])
            }
        })
        #expect(BranchDiscovery.discover(graph).names == ["head1", "head2", "head3"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("cross-branch-dependency"))
    }

    /// The same leak with each head a body and a classifier side by side in the model
    /// (`fc2(branch2(t) + branch1(t))`): branch1 alone feeds classifier1, as a trunk would, but branch2 is
    /// its copy on the same input, so it is head 1's body and the leak is found between the heads.
    @Test func aBodyWhoseCopyRunsBesideItIsAHeadNotTheTrunk() throws {
        let graph = multiHead(head: { g, i in
            g.layer("b\(i)", "branch\(i)", ["t"])
            if i == 2 { g.op("m", "add", in: "", ["b2", "b1"]) }
            g.op("p\(i)", "relu", in: "", [i == 2 ? "m" : "b\(i)"])
            g.layer("o\(i)", "classifier\(i)", ["p\(i)"])
        })
        let found = BranchDiscovery.discover(graph)
        #expect(found.names == ["branch1", "branch2", "branch3"])
        #expect(found.branches[0].prefixes == ["branch1", "classifier1"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("gradient-leak"))
    }

    /// The same with branch1's result added to branch2's input (`branch2(t + branch1(t))`).
    @Test func aBodyWhoseCopyReadsItsResultWithTheTrunksIsAHead() throws {
        let graph = multiHead(head: { g, i in
            if i == 2 { g.op("m", "add", in: "", ["t", "b1"]) }
            g.layer("b\(i)", "branch\(i)", [i == 2 ? "m" : "t"])
            g.op("p\(i)", "relu", in: "", ["b\(i)"])
            g.layer("o\(i)", "classifier\(i)", ["p\(i)"])
        })
        #expect(BranchDiscovery.discover(graph).names == ["branch1", "branch2", "branch3"])
        #expect(try Analyzer.analyze(graph).findings.map(\.rule).contains("gradient-leak"))
    }

    /// Negative: copies of one stage applied to different features (an FPN's lateral convolutions, the
    /// first level's result also carried down into the next) are not heads' bodies: the first stays the
    /// trunk at that level.
    @Test func copiesOnDifferentFeaturesLeaveTheTrunkAlone() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f1", "backbone.layer1", ["x"])
        g.layer("f2", "backbone.layer2", ["f1"])
        g.layer("l1", "lateral1", ["f1"])
        g.layer("l2", "lateral2", ["f2"])
        g.op("m", "add", in: "", ["l2", "l1"])
        g.layer("o1", "head1", ["l1"])
        g.layer("o2", "head2", ["m"])
        g.op("y", "cat", in: "", ["o1", "o2"])
        g.outputs("y")
        #expect(BranchDiscovery.discover(g.graph).trunk.contains("lateral1"))
    }

    /// Each body read by the next head too (`classifier2(b2 + b1)`, `classifier3(b3 + b2)`): the middle body
    /// reaches two results only through what its neighbours compute on. Three copies of one stage on one input
    /// reaching three results, one way only to give each its own: the heads, and the leaks between them.
    @Test func copiesEachReadByTheNextHeadAreTheHeads() throws {
        let graph = multiHead(head: { g, i in
            g.layer("b\(i)", "branch\(i)", ["t"])
            if i > 1 { g.op("m\(i)", "add", in: "", ["b\(i)", "b\(i - 1)"]) }
            g.op("p\(i)", "relu", in: "", [i > 1 ? "m\(i)" : "b\(i)"])
            g.layer("o\(i)", "classifier\(i)", ["p\(i)"])
        })
        let found = BranchDiscovery.discover(graph)
        #expect(found.names == ["branch1", "branch2", "branch3"])
        #expect(found.branches.map(\.prefixes) == [["branch1", "classifier1"], ["branch2", "classifier2"], ["branch3", "classifier3"]])
        #expect(try Analyzer.analyze(graph).findings.map(\.rule).contains("gradient-leak"))
    }

    /// Negative: a neck that alone feeds classifier1 and is mixed into head 2 with a path that computes
    /// differently (a 1x1 skip beside a 3x3 neck) is the trunk at that level, the skip part of head 2.
    @Test func aNeckBesideASkipOfAnotherMakeStaysTheTrunk() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("n", "neck", ["t"], kind: "conv2d")
        g.layer("s", "skip", ["t"])
        g.layer("o1", "classifier1", ["n"])
        g.op("m", "add", in: "", ["n", "s"])
        g.layer("o2", "classifier2", ["m"])
        g.op("y", "cat", in: "", ["o1", "o2"])
        g.outputs("y")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.trunk.contains("neck"))
        #expect(found.branches.map { Set($0.prefixes) } == [["skip", "classifier2"], ["classifier1"]])
    }

    /// `t += self.head1(t)`: head1's result folded into the trunk's tensor in place. head1 is still a head
    /// (the in-place update does not make it the trunk), and the others depend on it.
    @Test func aHeadAddedInPlaceIntoTheTrunkIsStillAHead() throws {
        let graph = multiHead(head: { g, i in
            if i == 1 {
                g.layer("o1", "head1", ["t"])
                g.op("t2", "add", in: "", ["t", "o1"], inplace: true)
            } else {
                g.layer("o\(i)", "head\(i)", ["t2"])
            }
        })
        #expect(BranchDiscovery.discover(graph).names == ["head1", "head2", "head3"])
        let rules = try Analyzer.analyze(graph).findings.map(\.rule)
        #expect(rules.contains("cross-branch-dependency"))
        #expect(rules.contains("inplace-hazard"))
    }

    /// Each head reads the other's intermediate (`head1.fc2(a + b)`, `head2.fc2(b + a)`): both heads and the
    /// trunk reach both results, yet each head reaches its own result other than through the other. The heads
    /// stay, the leak is reported between them (before, no branches: exit 3 on a model that leaks).
    @Test func headsReadingEachOthersIntermediatesAreStillHeads() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc1", ["t"])
        g.layer("b", "head2.fc1", ["t"])
        g.op("ab", "add", in: "", ["a", "b"])
        g.op("ba", "add", in: "", ["b", "a"])
        g.layer("o1", "head1.fc2", ["ab"])
        g.layer("o2", "head2.fc2", ["ba"])
        g.outputs("o1", "o2")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.names == ["head1", "head2"])
        #expect(found.trunk == ["trunk"])
        let report = try Analyzer.analyze(g.graph)
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("gradient-leak"))
    }

    /// Cross-stitch networks: two task columns whose activations a learned unit of the parent mixes after
    /// every layer. The columns are the heads, not the layers of one column.
    @Test func crossStitchColumnsAreTheHeads() {
        var g = SmallGraph(inputs: ["x"])
        var (a, b) = ("x", "x")
        for i in 0..<2 {
            g.layer("ha\(i)", "a.\(i)", [a])
            g.layer("hb\(i)", "b.\(i)", [b])
            g.op("xa\(i)", "add", in: "", ["ha\(i)", "hb\(i)"], weights: ["stitch"])
            g.op("xb\(i)", "add", in: "", ["hb\(i)", "ha\(i)"], weights: ["stitch"])
            (a, b) = ("xa\(i)", "xb\(i)")
        }
        g.layer("oa", "a.2", [a])
        g.layer("ob", "b.2", [b])
        g.outputs("oa", "ob")
        #expect(BranchDiscovery.discover(g.graph).names == ["a", "b"])
    }

    /// Parts of one computation that all reach both results, none with a result of its own: an attention
    /// block's projections under a model with two results. Not heads.
    @Test func siblingsThatAllReachEveryResultTogetherAreNoHeads() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("q", "attn.q", ["x"])
        g.layer("k", "attn.k", ["x"])
        g.layer("v", "attn.v", ["x"])
        g.op("s", "matmul", in: "attn", ["q", "k"])
        g.op("h", "matmul", in: "attn", ["s", "v"])
        g.layer("o1", "out1", ["h"])
        g.layer("o2", "out2", ["h"])
        g.outputs("o1", "o2")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.names == ["out1", "out2"])
        #expect(found.parent == "")
    }

    /// ALIGN: the image and text embeddings are returned and scored against each other divided by a learned
    /// temperature, one number. The division weighs what the towers made; their embeddings stay their results.
    @Test func aLearnedTemperatureWeighsTheTowersResults() {
        var g = SmallGraph(inputs: ["image", "text"])
        g.share(["temperature"], shape: [])
        g.layer("v", "vision_model", ["image"])
        g.layer("h", "text_model", ["text"])
        g.layer("e", "text_projection", ["h"])
        g.op("s", "matmul", in: "", ["e", "v"])
        g.op("logits", "div", in: "", ["s"], weights: ["temperature"])
        g.outputs("logits", "e", "v")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.branches.map(\.prefixes) == [["vision_model"], ["text_model", "text_projection"]])
    }

    /// A weight with an element per feature (a LayerScale gain) is learned as any weight is, also when read
    /// through a cast beside a single number; a single number applied element by element to data is not.
    @Test func onlySingleNumbersAppliedElementByElementAreNoHeadsWeights() {
        var g = SmallGraph(inputs: ["x"])
        g.share(["gain"], shape: [4])
        g.share(["temperature"], shape: [1])
        g.op("a", "mul", in: "head", ["x"], weights: ["gain"])
        g.op("b", "div", in: "", ["a"], weights: ["temperature"])
        g.op("g", "to", in: "", [], weights: ["gain"])
        g.op("m", "lerp", in: "", ["b", "g"], weights: ["temperature"])
        g.layer("c", "fc", ["m"])
        g.outputs("c")
        let graph = g.graph
        #expect(Terminals.learnedOps(graph, fromInput: graph.madeFromInputs()) == [true, false, true, true, true])
    }

    /// DeepLabV3 with `aux_loss`: the aux head forks from an earlier stage of the backbone. The backbone
    /// feeds both and is the trunk, not a branch.
    @Test func auxiliaryHeadsForkingFromAnEarlierStage() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f3", "backbone.layer3", ["x"])
        g.layer("f4", "backbone.layer4", ["f3"])
        g.layer("c", "classifier", ["f4"])
        g.layer("a", "aux_classifier", ["f3"])
        g.op("out", "upsample_bilinear2d", in: "", ["c"])
        g.op("aux", "upsample_bilinear2d", in: "", ["a"])
        g.outputs("out", "aux")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.names == ["classifier", "aux_classifier"])
        #expect(found.trunk == ["backbone"])
    }

    /// A trunk whose features are returned too is still the trunk: it computes all the heads read.
    @Test func aTrunkThatIsAlsoAnOutputIsNotABranch() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1", ["t"])
        g.layer("b", "head2", ["t"])
        g.outputs("t", "a", "b")
        #expect(BranchDiscovery.discover(g.graph).names == ["head1", "head2"])
    }

    /// BERT pre-training: the two heads read different trunk outputs (sequence and pooled) and sit one level
    /// down, under `cls`.
    @Test func headsReadingDifferentTrunkOutputsOneLevelDown() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("seq", "bert.encoder", ["x"])
        g.layer("pooled", "bert.pooler", ["seq"])
        g.layer("mlm", "cls.predictions", ["seq"])
        g.layer("nsp", "cls.seq_relationship", ["pooled"])
        g.outputs("mlm", "nsp")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.names == ["cls.predictions", "cls.seq_relationship"])
        #expect(found.parent == "cls")
    }

    /// Heads in a ModuleDict with their pooling written as functional ops in the parent's forward.
    @Test func moduleDictHeadsWithFunctionalOpsInTheParent() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "backbone", ["x"])
        for name in ["age", "sex"] {
            g.op("p_\(name)", "adaptive_avg_pool2d", in: "", ["t"])
            g.op("f_\(name)", "flatten", in: "", ["p_\(name)"])
            g.layer("o_\(name)", "heads.\(name)", ["f_\(name)"])
        }
        g.outputs("o_age", "o_sex")
        #expect(BranchDiscovery.discover(g.graph).names == ["heads.age", "heads.sex"])
    }

    /// Two heads in a ModuleDict and a third, `c`, beside the dict, reading the features with head `a`'s result
    /// (`c(cat(f, heads["a"](f)))`), detached or not. `c` reads what a head made, so the model's children
    /// (`heads`, `c`) look like a pipeline's stages, and the dict's own level (`a`, `b`) feeds no other: taken
    /// for the heads instead, `c` was lost and the leak passed (exit 0). The dict is its heads, in its place.
    func containerOfHeadsBesideAHead(detached: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "body", ["x"])
        g.op("f", "mean", in: "", ["t"])
        g.layer("a", "heads.a", ["f"])
        g.layer("b", "heads.b", ["f"])
        if detached { g.op("ad", "detach", in: "", ["a"]) }
        g.op("m", "cat", in: "", ["f", detached ? "ad" : "a"])
        g.layer("c", "c", ["m"])
        g.outputs("a", "b", "c")
        return g.graph
    }

    @Test func aContainerOfHeadsReadByAHeadBesideItIsItsHeads() throws {
        let graph = containerOfHeadsBesideAHead(detached: false)
        #expect(BranchDiscovery.discover(graph).names == ["heads.a", "heads.b", "c"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false)
        #expect(report.findings.contains { $0.rule == "gradient-leak" && $0.message.contains("heads.a") })
    }

    /// Read detached, `c` learns nothing through `heads.a`: the dict's entries and `c` are the heads, independent.
    @Test func aContainerOfHeadsReadDetachedBesideAHeadIsItsHeadsToo() throws {
        let graph = containerOfHeadsBesideAHead(detached: true)
        #expect(BranchDiscovery.discover(graph).names == ["heads.a", "heads.b", "c"])
        #expect(try Analyzer.analyze(graph).independent == true)
    }

    /// Mask R-CNN trained on its losses: the `rpn` computes its two outputs from one conv of its own, `roi` only
    /// holds the box and mask heads, of different shapes (`leak`: the mask head reads the box head's result).
    /// Two holders of heads side by side: the one that only holds heads is its heads, so a leak between them shows;
    /// the rpn, with a body of its own, stays one head. So does a holder of copies of one head, or one with a body.
    func twoHolders(leak: Bool, roi: String = "heads") -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("r", "rpn.conv", ["t"])
        g.layer("o1", "rpn.cls", ["r"])
        g.layer("o2", "rpn.box", ["r"])
        if roi != "copies" { g.share(["roi.mask.weight"], shape: [8, 4]) }
        var features = "t"
        if roi == "body" {
            g.layer("b", "roi.body", ["t"])
            features = "b"
        }
        g.layer("o3", "roi.box", [features])
        if leak {
            g.op("s", "mean", in: "roi.mask", ["o3"])
            g.op("m", "add", in: "roi.mask", [features, "s"])
        }
        g.layer("o4", "roi.mask", [leak ? "m" : features])
        g.outputs("o1", "o2", "o3", "o4")
        return g.graph
    }

    @Test(arguments: [true, false])
    func aHolderOfHeadsBesideAnotherHolderIsItsHeads(leak: Bool) throws {
        let report = try Analyzer.analyze(twoHolders(leak: leak))
        #expect(report.branches == ["rpn", "roi.box", "roi.mask"])
        #expect(report.independent == !leak)
    }

    @Test(arguments: ["copies", "body"])
    func aHolderOfCopiesOrWithABodyStaysOneHead(_ roi: String) {
        #expect(BranchDiscovery.discover(twoHolders(leak: false, roi: roi)).names == ["rpn", "roi"])
    }

    /// Two holders of heads with a leak from one's head into the other's (`seg.b` read by `text.c`): each reaches
    /// results the other does not, so neither reaches fewer; each is still a head, the leak between them.
    @Test func holdersWithALeakBetweenTheirHeadsStayApart() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "seg.a", ["t"])
        g.layer("b", "seg.b", ["t"])
        g.op("s", "mean", in: "text.c", ["b"])
        g.op("m", "add", in: "text.c", ["t", "s"])
        g.layer("c", "text.c", ["m"])
        g.layer("d", "text.d", ["t"])
        g.outputs("a", "b", "c", "d")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.independent == false)
        #expect(report.findings.contains { $0.rule == "gradient-leak" && $0.message.contains("seg") })
    }

    /// A head beside a holder of heads, its result read by one of them (`aux` beside `text`, `text.d` reading
    /// `aux`'s result): with each result reaching itself, `aux` is a head beside the holder, found with the heads
    /// the holder holds, and the leak shows.
    @Test func aHeadBesideAHolderWhoseResultOneOfItsHeadsReadsIsAHead() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "aux", ["t"])
        g.layer("c", "text.c", ["t"])
        g.op("s", "mean", in: "text.d", ["a"])
        g.op("m", "add", in: "text.d", ["t", "s"])
        g.layer("d", "text.d", ["m"])
        g.outputs("a", "c", "d")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["aux", "text.c", "text.d"])
        #expect(report.independent == false)
    }

    /// Heads in a ModuleDict beside a head `c`, the dict's `b` reading `a`'s result (`heads["b"](t + ya)`): the
    /// dict's entries are the heads and the leak lies between two of them (taking the dict for one head hid it:
    /// exit 0). So for any module holding heads, a container or not (LXMERT's `cls`, a `BertPreTrainingHeads`).
    func containerOfHeadsOneReadingTheOther(type: String) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "heads.a", ["t"])
        g.op("m", "add", in: "", ["t", "a"])
        g.layer("b", "heads.b", ["m"])
        g.layer("c", "c", ["t"])
        g.outputs("a", "b", "c")
        var graph = g.graph
        graph.modules = [ModuleInfo(path: "", type: "Model"), ModuleInfo(path: "heads", type: type)]
        return graph
    }

    @Test(arguments: ["ModuleDict", "ModuleList", "PreTrainingHeads"])
    func aLeakBetweenHeadsHeldBesideAHeadIsFound(type: String) throws {
        let graph = containerOfHeadsOneReadingTheOther(type: type)
        #expect(BranchDiscovery.discover(graph).names == ["heads.a", "heads.b", "c"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false && report.findings.contains { $0.rule == "gradient-leak" })
    }

    /// Cascade stages of one class, each with a body `fc` and `cls` / `reg` layers, the last stage's class and box
    /// outputs returned apart, the earlier stage's class output alone (its boxes feed the next stage detached), and
    /// the stages' bodies one object (`stages[1].fc = stages[0].fc`). The last stage is a stage, not a holder of two
    /// heads over a trunk `fc`: opening it made the shared body trunk and the model passed. A holder of another
    /// class than the head beside it is still opened (`aLeakBetweenHeadsHeldBesideAHeadIsFound`).
    func cascade(lastType: String) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "backbone", ["x"])
        g.share(["stages.0.fc.weight", "stages.1.fc.weight"], shape: [4, 4])
        g.op("h0", "linear", in: "stages.0.fc", ["t"], weights: ["stages.0.fc.weight"])
        g.layer("c0", "stages.0.cls", ["h0"])
        g.layer("r0", "stages.0.reg", ["h0"])
        g.op("b0", "detach", in: "", ["r0"])
        g.op("m", "add", in: "", ["t", "b0"])
        g.op("h1", "linear", in: "stages.1.fc", ["m"], weights: ["stages.0.fc.weight"])
        g.layer("c1", "stages.1.cls", ["h1"])
        g.layer("r1", "stages.1.reg", ["h1"])
        g.outputs("c0", "c1", "r1")
        var graph = g.graph
        graph.modules = [ModuleInfo(path: "", type: "Cascade"), ModuleInfo(path: "stages.0", type: "Stage"), ModuleInfo(path: "stages.1", type: lastType)]
        return graph
    }

    @Test func aStageReturningMoreThanTheStagesOfItsClassIsNotOpened() throws {
        let graph = cascade(lastType: "Stage")
        #expect(BranchDiscovery.discover(graph).names == ["stages.0", "stages.1"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false && report.findings.contains { $0.rule == "shared-storage" })
    }

    @Test func aHolderOfAnotherClassThanTheHeadBesideItIsOpened() {
        #expect(BranchDiscovery.discover(cascade(lastType: "BoxHeads")).names == ["stages.0", "stages.1.cls", "stages.1.reg"])
    }

    /// A LoRA layer at the end of one head (`head1.2`: its frozen `base` plus `A`, `B`, added in its own forward), the
    /// other head plain, their first layers one object. What LoRA adds are two results, as heads averaged at the end
    /// are, so head1 looked like a holder of two heads beside head0; opened, its first layer became trunk and the
    /// model passed. The sum in `head1.2` — inside the holder and none of its heads — makes them parts of one result.
    func loraAtOneHeadsEnd() -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.share(["head0.0.weight", "head1.0.weight"])
        g.op("a0", "linear", in: "head0.0", ["t"], weights: ["head0.0.weight"])
        g.layer("o0", "head0.2", ["a0"])
        g.op("a1", "linear", in: "head1.0", ["t"], weights: ["head0.0.weight"])
        g.layer("b", "head1.2.base", ["a1"])
        g.layer("l", "head1.2.A", ["a1"])
        g.layer("r", "head1.2.B", ["l"])
        g.op("s", "mul", in: "head1.2", ["r"])
        g.op("o1", "add", in: "head1.2", ["b", "s"])
        g.outputs("o0", "o1")
        return g.graph
    }

    @Test func aLoRALayerAtOneHeadsEndKeepsThatHeadWhole() throws {
        let graph = loraAtOneHeadsEnd()
        #expect(BranchDiscovery.discover(graph).names == ["head0", "head1"])
        #expect(try Analyzer.analyze(graph).independent == false)
    }

    /// Two tasks, each a main and an auxiliary output (`tasks.seg.out`, `tasks.seg.aux`, the same for `depth`): both
    /// hold heads, so they are peers at their level and stay the heads (taking one apart gave lopsided heads).
    @Test func branchesThatAllHoldHeadsStayTheHeads() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for task in ["seg", "depth"] {
            g.layer("h\(task)", "tasks.\(task).body", ["t"])
            g.layer("o\(task)", "tasks.\(task).out", ["h\(task)"])
            g.layer("a\(task)", "tasks.\(task).aux", ["h\(task)"])
        }
        g.outputs("oseg", "aseg", "odepth", "adepth")
        #expect(BranchDiscovery.discover(g.graph).names == ["tasks.seg", "tasks.depth"])
    }

    @Test func aSingleResultHasNoBranches() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("a", "block.conv1", ["x"])
        g.layer("b", "block.downsample", ["x"])
        g.op("s", "add", in: "block", ["a", "b"])
        g.layer("y", "fc", ["s"])
        g.outputs("y")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches.isEmpty)
        #expect(report.independent == nil && report.undecidedReason == .noBranches)
    }

    /// A head that only reads another head's result is downstream of it, not beside it.
    @Test func aModuleFedOnlyByAnotherIsNotItsSibling() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "backbone", ["x"])
        g.layer("a", "p", ["t"])
        g.layer("b", "q", ["a"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        #expect(BranchDiscovery.discover(g.graph).names == [])
    }
}

extension HeadDiscoveryTests {
    /// Cosine classifiers: each head normalizes its weight (a norm and a division, reading the weight alone)
    /// and applies it to the features. `oneObject`: head2 is head1 (`self.head2 = self.head1`), traced under
    /// head1's name both times.
    static func cosineHeads(oneObject: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for (i, head) in ["head1", "head2"].enumerated() {
            let module = oneObject ? "head1" : head
            let weight = "\(module).weight"
            g.op("n\(i)", "linalg_vector_norm", in: module, [], weights: [weight], shape: [4, 1])
            g.op("w\(i)", "div", in: module, ["n\(i)"], weights: [weight], shape: [4, 4])
            g.op("y\(i)", "mm", in: module, ["t", "w\(i)"])
        }
        g.outputs("y0", "y1")
        return g.graph
    }

    /// A weight computed from parameters alone before it is applied is still the head's weight: the product
    /// is the learned op whose result is the head's. (With only direct reads of a parameter learned, the
    /// results were the normalized weights, made from no input: no results, no branches, exit 3.)
    @Test func aWeightNormalizedBeforeUseLeavesTheProductTheLearnedOp() throws {
        let found = BranchDiscovery.discover(Self.cosineHeads())
        #expect(found.terminals == 2)
        #expect(found.names == ["head1", "head2"])
        #expect(try Analyzer.analyze(Self.cosineHeads()).independent == true)
    }

    /// One cosine head object in both slots computes the same product twice: one head.
    @Test func oneCosineHeadTwiceIsOneComputation() throws {
        let report = try Analyzer.analyze(Self.cosineHeads(oneObject: true))
        #expect(report.findings.map(\.rule).contains("duplicate-computation"))
        #expect(report.findings.first { $0.rule == "module-reuse" }?.moduleReuse?.calls == 2)
        #expect(!(try Analyzer.analyze(Self.cosineHeads())).findings.contains { $0.rule == "module-reuse" },
                "a weight read twice to normalize it, in one call, is no reuse")
    }
}

extension HeadDiscoveryTests {
    /// A head starting with `nn.ReLU(inplace=True)` overwrites the trunk's tensor, which the later heads
    /// then read: the tensor is still the trunk's, and head1 is still a head.
    @Test func aHeadStartingWithAnInPlaceReLUIsStillAHead() throws {
        let graph = multiHead(head: { g, i in
            if i == 1 {
                g.op("t2", "relu", in: "head1.0", ["t"], inplace: true)
                g.layer("o1", "head1.1", ["t2"])
            } else {
                g.layer("o\(i)", "head\(i)", ["t2"])
            }
        })
        #expect(BranchDiscovery.discover(graph).names == ["head1", "head2", "head3"])
        #expect(try Analyzer.analyze(graph).findings.map(\.rule).contains("inplace-hazard"))
    }

    /// LR-ASPP's classifier: a module returning the sum of two learned paths, the model's only output, is one
    /// head, as a residual block is: one path classifies a low-level feature, the other the last one. No
    /// verdict, instead of "independent" for a model without heads. (The model's own forward averaging two
    /// heads keeps them: BranchDiscoveryTests, DeiT; so does a module averaging copies of one head: below.)
    @Test func pathsAddedIntoTheOnlyOutputAreOneResult() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f", "backbone.0", ["x"])
        g.layer("t", "backbone.1", ["f"])
        g.layer("low", "classifier.low_classifier", ["f"])
        g.layer("high", "classifier.high_classifier", ["t"])
        g.op("sum", "add", in: "classifier", ["low", "high"])
        g.op("out", "upsample_bilinear2d", in: "", ["sum"])
        g.outputs("out")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.terminals == 1)
        #expect(found.branches.isEmpty)
        #expect(try Analyzer.analyze(g.graph).independent == nil)
    }

    /// Each head scored on its own loss, the losses added into one scalar: still two heads.
    @Test func lossesAddedIntoOneScalarKeepTheirHeads() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1", ["t"])
        g.layer("b", "head2", ["t"])
        g.op("la", "mse_loss", in: "", ["a"], shape: [])
        g.op("lb", "mse_loss", in: "", ["b"], shape: [])
        g.op("loss", "add", in: "", ["la", "lb"], shape: [])
        g.outputs("loss")
        #expect(BranchDiscovery.discover(g.graph).names == ["head1", "head2"])
    }
}

extension HeadDiscoveryTests {
    /// DETR for segmentation: the detector's class and box heads are children of `detr`, the mask head a
    /// child of the model that wraps it; each reaches a result no other head reaches. The split is made
    /// where most heads are, and the mask head, alone at its level, is a head too.
    func detectorWithAMaskHead(maskFeedsBoxes: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("h", "detr.model", ["x"])
        g.layer("logits", "detr.class_head", ["h"])
        g.layer("masks", "mask_head", ["h"])
        if maskFeedsBoxes {
            g.op("hm", "add", in: "detr", ["h", "masks"])
            g.layer("boxes", "detr.box_head", ["hm"])
        } else {
            g.layer("boxes", "detr.box_head", ["h"])
        }
        g.outputs("logits", "boxes", "masks")
        return g.graph
    }

    @Test func aHeadAloneAtAnotherLevelIsAHeadToo() {
        let found = BranchDiscovery.discover(detectorWithAMaskHead(maskFeedsBoxes: false))
        #expect(found.parent == "detr")
        #expect(found.names == ["detr.class_head", "detr.box_head", "mask_head"])
        #expect(found.elsewhere.map(\.parent) == [""])
    }

    /// DAB-DETR: the decoder's own box MLP (`model.decoder.bbox_embed`, tied to the box head by the model)
    /// refines reference boxes, which the model adds in place into the box head's offsets. Its result reaches
    /// the model's boxes only together with the box head's: part of the box prediction, not a head beside
    /// the class and box heads. (Taken for one, its tie to the box head read as sharing between heads.)
    @Test func aResultThatOnlyJoinsAHeadsOutputIsNoHeadOfItsOwn() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("h0", "model.decoder.layers.0", ["x"])
        g.layer("r", "model.decoder.bbox_embed", ["h0"])
        g.op("ref", "sigmoid", in: "model.decoder", ["r"])
        g.layer("h", "model.decoder.layers.1", ["h0"])
        g.layer("logits", "class_embed", ["h"])
        g.layer("offsets", "bbox_predictor", ["h"])
        g.op("refined", "add", in: "", ["offsets", "ref"], inplace: true)
        g.op("boxes", "sigmoid", in: "", ["refined"])
        g.outputs("logits", "boxes")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.names == ["class_embed", "bbox_predictor"])
        #expect(found.elsewhere.isEmpty)
    }

    /// OWL-ViT's shape: a text tower encodes a second input into queries that the class head scores the image
    /// features against, with a similarity that learns nothing (so the queries leave the tower as a result of
    /// their own). `returned`: the queries are returned too. `masked`: the tower also reads an attention mask,
    /// only to see that it is all ones (transformers then leaves it out), so the queries are made from the ids
    /// alone. (The towers inside a wrapped model, as in OWL-ViT itself, are in the corpus.)
    func openVocabularyDetector(returned: Bool, masked: Bool = false) -> Graph {
        var g = SmallGraph(inputs: masked ? ["ids", "image", "mask"] : ["image", "ids"])
        g.layer("f", "vision_model", ["image"])
        if masked { g.op("ones", "all", in: "text_model", ["mask"], dtype: .bool) }
        g.layer("e", "text_model", ["ids"])
        g.layer("q", "text_projection", ["e"])
        g.layer("a", "class_head.dense0", ["f"])
        g.op("s", "einsum", in: "class_head", ["a", "q"])
        g.layer("k", "class_head.logit_scale", ["f"])
        g.op("logits", "mul", in: "class_head", ["s", "k"])
        g.layer("boxes", "box_head", ["f"])
        g.outputs(returned ? ["logits", "boxes", "q"] : ["logits", "boxes"])
        return g.graph
    }

    @Test(arguments: [(false, false), (true, false), (true, true)])
    func anEncoderOfAnInputOnlyAHeadReadsIsThatHeadsInput(returned: Bool, masked: Bool) throws {
        let graph = openVocabularyDetector(returned: returned, masked: masked)
        let found = BranchDiscovery.discover(graph)
        #expect(found.names == ["class_head", "box_head"])
        #expect(found.trunk == ["vision_model", "text_model", "text_projection"])
        #expect(try Analyzer.analyze(graph).independent == true)
    }

    /// A two-stage detector in training: the RPN reads the backbone's features and the target boxes, and its
    /// proposals feed the RoI heads, which read the features and the target labels. The RPN's input reaches the RoI heads through
    /// the backbone as well: it is a head, not their input stage.
    @Test func aHeadWhoseResultFeedsAnotherBesideTheTrunkStaysAHead() throws {
        var g = SmallGraph(inputs: ["images", "boxes", "labels"])
        g.layer("f", "backbone", ["images"])
        g.layer("r", "rpn.head", ["f"])
        g.op("rpn_loss", "mse_loss", in: "rpn", ["r", "boxes"])
        g.op("proposals", "detach", in: "rpn", ["r"])
        g.op("pooled", "roi_align", in: "roi_heads", ["f", "proposals"])
        g.layer("scores", "roi_heads.box_predictor", ["pooled"])
        g.op("roi_loss", "cross_entropy", in: "roi_heads", ["scores", "labels"])
        g.outputs("rpn_loss", "roi_loss")
        #expect(BranchDiscovery.discover(g.graph).names == ["rpn", "roi_heads"])
    }

    /// The leak the tool exists to find, in a model with two inputs: head2 reads head1's result beside the
    /// trunk's output, which head1 reads too. head1 encodes nothing only head2 reads: it stays a head.
    @Test func aHeadFeedingAnotherFromTheSameTrunkStaysAHeadWithTwoInputs() throws {
        var g = SmallGraph(inputs: ["image", "mask"])
        g.layer("t", "trunk", ["image", "mask"])
        g.layer("o1", "head1", ["t"])
        g.op("m", "add", in: "", ["t", "o1"])
        g.layer("o2", "head2", ["m"])
        g.outputs("o1", "o2")
        #expect(BranchDiscovery.discover(g.graph).names == ["head1", "head2"])
        let report = try Analyzer.analyze(g.graph)
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("gradient-leak"))
    }

    /// Grounding DINO's two-stage proposals: `enc_output` and `enc_output_norm` embed the encoder's output; the box
    /// head computes with the embedding, while the class head, which has no weights for it, scores it against
    /// the text into the proposal logits (and learns elsewhere: `class_embed.proj` on the text). The embedding
    /// reaches only the box head's results, yet both heads start from it: it is their trunk. `leaks`: the second
    /// head instead adds the body's output into its own learned result (`self.fc(t) + a`), which is the leak.
    func proposalHeads(leaks: Bool) -> Graph {
        var g = SmallGraph(inputs: ["image", "ids"])
        g.layer("f", "encoder", ["image"])
        g.layer("text", "text_encoder", ["ids"])
        g.layer("e", "enc_output", ["f"])
        g.layer("q", "enc_output_norm", ["e"])
        if leaks {
            g.layer("h", "class_embed.fc", ["f"])
            g.op("scores", "add", in: "class_embed", ["h", "q"])
        } else {
            g.op("scores", "bmm", in: "class_embed", ["q", "text"])
        }
        g.layer("c", "class_embed.proj", ["text"])
        g.layer("boxes", "bbox_embed", ["q"])
        g.outputs("scores", "c", "boxes")
        return g.graph
    }

    @Test func anEmbeddingOneHeadComputesWithAndAnotherOnlyScoresIsTheirTrunk() throws {
        let graph = proposalHeads(leaks: false)
        let found = BranchDiscovery.discover(graph)
        #expect(found.names == ["class_embed", "bbox_embed"])
        #expect(found.trunk.contains("enc_output") && found.trunk.contains("enc_output_norm"))
        #expect(try Analyzer.analyze(graph).independent == true)
    }

    @Test func anEmbeddingAddedIntoAnotherHeadsLearnedResultStaysWithItsHead() throws {
        let graph = proposalHeads(leaks: true)
        let found = BranchDiscovery.discover(graph)
        #expect(found.names == ["class_embed", "enc_output"])
        #expect(!found.trunk.contains("enc_output_norm"))
        #expect(try Analyzer.analyze(graph).independent == false)
    }

    /// A timm model `m` whose classifier is head 1 (`m.forward_head(f)`) and an auxiliary head beside `m` on its
    /// features. `leaks`: the auxiliary head also reads the classifier's output (`aux(p + y1.mean())`), so every
    /// part of `m` reaches both results and `m.fc` was no head at its level ("no branches", exit 3). The leak
    /// must show between the heads: with each result reaching only itself, `m.fc` is the other head.
    func classifierInsideTheBackbone(leaks: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f", "m.body", ["x"])
        g.layer("y1", "m.fc", ["f"])
        if leaks { g.op("p", "add", in: "", ["f", "y1"]) }
        g.layer("y2", "aux", [leaks ? "p" : "f"])
        g.outputs("y1", "y2")
        return g.graph
    }

    @Test(arguments: [false, true])
    func aResultAnotherHeadReadsLeavesItsHeadAHead(leaks: Bool) throws {
        let graph = classifierInsideTheBackbone(leaks: leaks)
        #expect(Set(BranchDiscovery.discover(graph).names) == ["m.fc", "aux"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == !leaks)
        #expect(report.findings.map(\.rule).contains("gradient-leak") == leaks)
    }

    /// A VAE whose encoder's last Linear gives mu and log-variance in one tensor, split and returned beside the
    /// reconstruction, and whose decoder reads `mu + eps * exp(logvar / 2)`: the decoder follows the encoder,
    /// reading nothing else, so the two are no heads (a pipeline, no verdict) — although with each result
    /// reaching only itself they reach separate results. The head that reads another's result and the trunk's
    /// output (`aux(f + y1)` above) is still a head.
    @Test func aDecoderReadingOnlyTheCodeItsEncoderReturnsIsNoHead() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("h", "enc.0", ["x"])
        g.layer("code", "enc.2", ["h"])
        g.op("mu", "slice", in: "", ["code"])
        g.op("logvar", "slice", in: "", ["code"])
        g.op("eps", "randn_like", in: "", ["mu"])
        g.op("half", "mul", in: "", ["logvar"])
        g.op("std", "exp", in: "", ["half"])
        g.op("noise", "mul", in: "", ["eps", "std"])
        g.op("z", "add", in: "", ["mu", "noise"])
        g.layer("recon", "dec.0", ["z"])
        g.outputs("recon", "mu", "logvar")
        #expect(BranchDiscovery.discover(g.graph).branches.isEmpty)
        let report = try Analyzer.analyze(g.graph)
        #expect(report.independent == nil && report.undecidedReason == .noBranches)
    }

    /// BertForPreTraining (`pt`: its heads under `pt.cls`) wrapped with an extra head beside it. `leaks`: the extra
    /// head also reads the MLM head's logits, whose values then go on into learned ops outside `pt.cls` — which
    /// made the MLM head a stage of a longer computation (trunk), and the leak into it went unseen (exit 0). Found
    /// again with each result reaching only itself, the MLM head is a head beside the one already found.
    func preTrainingWithAnExtraHead(leaks: Bool) -> Graph {
        var g = SmallGraph(inputs: ["ids"])
        g.layer("h", "pt.bert", ["ids"])
        g.op("c", "dropout", in: "pt.cls", ["h"])  // `pt.cls` runs a forward of its own (BertPreTrainingHeads)
        g.layer("mlm", "pt.cls.predictions", ["c"])
        g.layer("nsp", "pt.cls.seq_relationship", ["c"])
        if leaks { g.op("m", "add", in: "", ["h", "mlm"]) }
        g.layer("e", "extra", [leaks ? "m" : "h"])
        g.outputs("mlm", "nsp", "e")
        return g.graph
    }

    @Test(arguments: [false, true])
    func aHeadWhoseResultGoesOnIntoAnotherStaysAHead(leaks: Bool) throws {
        let graph = preTrainingWithAnExtraHead(leaks: leaks)
        let names = Set(BranchDiscovery.discover(graph).names)
        #expect(names.contains("extra") && names.contains { $0.hasPrefix("pt.cls") })
        try expectLeakBetween(["pt.cls.predictions", "pt.cls.seq_relationship", "extra"], in: graph, leaks: leaks)
    }

    /// With `leaks`, exactly `heads` found and the leak between them reported; without, independent.
    func expectLeakBetween(_ heads: Set<String>, in graph: Graph, leaks: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if leaks { #expect(Set(BranchDiscovery.discover(graph).names) == heads, sourceLocation: sourceLocation) }
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == !leaks, sourceLocation: sourceLocation)
        #expect(report.findings.map(\.rule).contains("gradient-leak") == leaks, sourceLocation: sourceLocation)
    }

    /// FCN with its aux head (`seg.aux_classifier`), the model upsampling that head's result in its own forward
    /// (`seg`), and an extra head beside `seg` reading the image with the upsampled aux result
    /// (`extra(cat(x, aux))`, `leaks`; else the image alone). The aux result is the upsampling's, an op of `seg`, no
    /// head's: the second look found the aux head, but counted no result more made by the heads and kept the
    /// first (`extra`, `seg.classifier`: exit 0 on the leak).
    func segmenterWithAnExtraHead(leaks: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "seg.backbone", ["x"])
        g.layer("o", "seg.classifier", ["t"])
        g.layer("a", "seg.aux_classifier", ["t"])
        g.op("au", "interpolate", in: "seg", ["a"])
        if leaks { g.op("m", "cat", in: "", ["x", "au"]) }
        g.layer("e", "extra", [leaks ? "m" : "x"])
        g.outputs("o", "au", "e")
        return g.graph
    }

    @Test(arguments: [false, true])
    func aHeadWhoseResultTheParentPostProcessesIsFoundAgain(leaks: Bool) throws {
        try expectLeakBetween(["seg.classifier", "seg.aux_classifier", "extra"], in: segmenterWithAnExtraHead(leaks: leaks), leaks: leaks)
    }

    /// Hierarchical classification: a coarse head on the stem's features, a fine head on the deep features
    /// concatenated with the coarse logits (`leaks`; else the deep features alone, as with `.detach()`). The coarse
    /// logits are mixed with a value computed beside them from the stem's output, not one they were computed
    /// from: the coarse head stays a head and the leak shows between the two (it made both vanish: exit 3).
    func hierarchical(leaks: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f", "stem", ["x"])
        g.layer("c", "coarse", ["f"])
        g.layer("d", "deep", ["f"])
        if leaks { g.op("m", "cat", in: "", ["d", "c"]) }
        g.layer("y", "fine", [leaks ? "m" : "d"])
        g.outputs("c", "y")
        return g.graph
    }

    @Test(arguments: [false, true])
    func aHeadsLogitsMixedIntoDeeperFeaturesStayAHead(leaks: Bool) throws {
        try expectLeakBetween(["coarse", "deep"], in: hierarchical(leaks: leaks), leaks: leaks)
    }

    /// Two results read together by a stage after both (a VAE's decoder reads `mu + eps * exp(logvar / 2)`), and
    /// attention weights returned beside the output they weigh (`softmax(q·k)` made of two activations, read by the
    /// product with `v`), are intermediates: no heads.
    @Test(arguments: [false, true])
    func resultsReadTogetherOrAttentionWeightsAreNoHeads(attention: Bool) {
        var g = SmallGraph(inputs: ["x"])
        g.layer("h", "enc", ["x"])
        if attention {
            g.layer("q", "attn.q", ["h"])
            g.layer("k", "attn.k", ["h"])
            g.layer("v", "attn.v", ["h"])
            g.op("s", "matmul", in: "attn", ["q", "k"])
            g.op("p", "softmax", in: "attn", ["s"])
            g.op("o", "matmul", in: "attn", ["p", "v"])
            g.layer("y", "attn.out", ["o"])
            g.outputs("y", "p")
        } else {
            g.layer("mu", "fc_mu", ["h"])
            g.layer("lv", "fc_logvar", ["h"])
            g.op("z", "add", in: "", ["mu", "lv"])
            g.layer("y", "dec", ["z"])
            g.outputs("y", "mu", "lv")
        }
        #expect(BranchDiscovery.discover(g.graph).branches.count < 2)
    }

    /// Mask R-CNN with the mask head reading the class scores (a leak): the scores' layer was taken for trunk,
    /// leaving the box-delta layer a head beside the mask head; with each result reaching only itself the box
    /// branch (pooling, head, both predictor layers) is found whole. That second set replaces the first when each
    /// head found first is one of it or lies inside a different one of it — not when two heads found first would
    /// become one. (The whole model is in the corpus: "MaskRCNN … the mask head reads the class logits".)
    @Test func aBranchFoundAgainHoldingOneFoundFirstExtendsIt() {
        func discovery(_ branches: [[String]]) -> Discovery {
            Discovery(branches: branches.map { Branch(name: $0[0], prefixes: $0) }, parent: "roi_heads", terminals: 3, trunk: [], alternatives: [])
        }
        let found = discovery([["roi_heads.mask_head", "roi_heads.mask_predictor"], ["roi_heads.box_predictor.bbox_pred"]])
        let again = discovery([["roi_heads.box_head", "roi_heads.box_predictor"], ["roi_heads.mask_head", "roi_heads.mask_predictor"]])
        #expect(BranchDiscovery.extends(again, found))
        let split = discovery([["roi_heads.box_predictor.cls_score"], ["roi_heads.box_predictor.bbox_pred"]])
        #expect(!BranchDiscovery.extends(again, split), "two heads found first would be one")
        #expect(!BranchDiscovery.extends(discovery([["roi_heads.mask_head"]]), found), "a head found first would be lost")
    }

    /// A module that also feeds a head the split found is no head of its own there.
    @Test func aModuleFeedingAFoundHeadIsNotAddedAsAnother() {
        let found = BranchDiscovery.discover(detectorWithAMaskHead(maskFeedsBoxes: true))
        #expect(!found.names.contains("mask_head"))
        #expect(found.elsewhere.isEmpty)
    }
}

extension HeadDiscoveryTests {
    /// Actor-critic written as one policy network whose hidden layer the value head also reads
    /// (`value(policy[:-1](x))` beside `policy(x)`): the policy's last layer is a head alone at its level, the value
    /// head alone at the model's. No level has two heads, yet the two are the heads, and the policy's first
    /// layers their trunk. A model with one such head (a base encoder returning its pooler's output beside its
    /// hidden states) still has none to compare.
    func policyAndValue(valueHead: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("h0", "policy.0", ["x"])
        g.op("h", "tanh", in: "policy.1", ["h0"])
        g.layer("logits", "policy.2", ["h"])
        if valueHead {
            g.layer("value", "value_head", ["h"])
            g.outputs("logits", "value")
        } else {
            g.outputs("logits", "h")
        }
        return g.graph
    }

    @Test func headsAloneAtDifferentLevelsAreTheHeads() {
        let found = BranchDiscovery.discover(policyAndValue(valueHead: true))
        #expect(Set(found.names) == ["policy.2", "value_head"])
        #expect(found.trunk == ["policy.0", "policy.1"])
    }

    @Test func oneHeadAloneIsNoSetOfHeads() {
        #expect(BranchDiscovery.discover(policyAndValue(valueHead: false)).names.isEmpty)
    }
}

extension HeadDiscoveryTests {
    /// The detector (`body`: a trunk with class and box heads) and a mask head beside it that also reads a
    /// position encoding made from the input without a parameter (DETR's sine embedding of the pixel mask,
    /// called from the model's forward). The encoding is input: the detector is still the trunk at the top,
    /// and the mask head a head of its own. `learnedEncoding`: the same encoding made with a weight is a
    /// computation of its own, which the detector does not make.
    func detectorBesideAPositionEncoding(learnedEncoding: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "body.trunk", ["x"])
        g.layer("logits", "body.cls", ["t"])
        g.layer("boxes", "body.box", ["t"])
        if learnedEncoding { g.layer("pos", "pos", ["x"]) } else { g.op("pos", "sin", in: "pos", ["x"]) }
        g.op("m", "add", in: "mask", ["t", "pos"], weights: ["mask.weight"])
        g.outputs("logits", "boxes", "m")
        return g.graph
    }

    @Test func anEncodingOfTheInputBesideTheTrunkLeavesItTheTrunk() throws {
        let found = BranchDiscovery.discover(detectorBesideAPositionEncoding(learnedEncoding: false))
        #expect(found.names == ["body.cls", "body.box", "mask"])
        let report = try Analyzer.analyze(detectorBesideAPositionEncoding(learnedEncoding: false))
        #expect(report.independent == true, "\(report.findings.map(\.message))")
        let learned = BranchDiscovery.discover(detectorBesideAPositionEncoding(learnedEncoding: true))
        #expect(learned.names != found.names)
    }
}

extension HeadDiscoveryTests {
    /// RT-DETR's decoder: each layer's box head refines the reference points, which the next layer reads
    /// detached; each layer's class head scores its queries. `.detach()` sends no gradient back, so the box
    /// head of one layer does not reach the next layer's results: the heads are the box and class heads, not
    /// the decoder layers (which read each other's output, the leak the rules would then report).
    @Test func boxRefinementThroughDetachDoesNotMakeTheLayersTheHeads() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("h", "encoder", ["x"])
        g.layer("r", "enc_bbox_head", ["h"])
        g.op("ref0", "detach", in: "", ["r"])
        var hidden = "h"
        for i in 0..<2 {
            g.layer("pos\(i)", "decoder.query_pos_head", ["ref\(i)"])
            g.op("q\(i)", "add", in: "decoder.layers.\(i)", [hidden, "pos\(i)"])
            g.layer("h\(i)", "decoder.layers.\(i)", ["q\(i)"])
            g.layer("b\(i)", "decoder.bbox_embed.\(i)", ["h\(i)"])
            g.op("nr\(i)", "add", in: "decoder", ["b\(i)", "ref\(i)"])
            g.op("ref\(i + 1)", "detach", in: "decoder", ["nr\(i)"])
            g.layer("c\(i)", "decoder.class_embed.\(i)", ["h\(i)"])
            hidden = "h\(i)"
        }
        g.op("logits", "stack", in: "decoder", ["c0", "c1"])
        g.op("boxes", "stack", in: "decoder", ["nr0", "nr1"])
        g.outputs("logits", "boxes")
        #expect(BranchDiscovery.discover(g.graph).names == ["decoder.bbox_embed", "decoder.class_embed"])
        #expect(try Analyzer.analyze(g.graph).independent == true)
    }
}

extension HeadDiscoveryTests {
    /// A U-Net with deep supervision: decoder stage i (`up.i`) reads the stage before it and a skip from the
    /// encoder, and a 1x1 head (`seg_outputs.i`) on each stage's output gives one result. The stages reach
    /// separate results too, but each feeds the next: a pipeline. The heads are the level whose parts feed
    /// no other, covering the same results. `headsFeedEachOther`: the second 1x1 head also reads the first
    /// one's result, detached (then no level is free of such reads, and the first level found stays, the
    /// dependency reported between its branches).
    func deepSupervision(headsFeedEachOther: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("e0", "enc.0", ["x"])
        g.layer("e1", "enc.1", ["e0"])
        var x = "e1"
        for (i, skip) in ["e0", "x"].enumerated() {
            g.layer("u\(i)", "up.\(i)", [x])
            g.op("c\(i)", "cat", in: "", ["u\(i)", skip])
            g.layer("d\(i)", "dec.\(i)", ["c\(i)"])
            if headsFeedEachOther && i == 1 { g.op("s0d", "detach", in: "", ["s0"]) }
            g.layer("s\(i)", "seg_outputs.\(i)", headsFeedEachOther && i == 1 ? ["d1", "s0d"] : ["d\(i)"])
            x = "d\(i)"
        }
        g.outputs("s0", "s1")
        return g.graph
    }

    @Test func pipelineStagesGiveWayToTheHeadsTheyFeed() throws {
        let found = BranchDiscovery.discover(deepSupervision())
        #expect(found.names == ["seg_outputs.0", "seg_outputs.1"])
        #expect(found.stages == ["up.0", "up.1"])
        #expect(try Analyzer.analyze(deepSupervision()).independent == true)
    }

    @Test func withoutALevelThatFeedsNoOtherTheFirstStays() throws {
        let graph = deepSupervision(headsFeedEachOther: true)
        #expect(BranchDiscovery.discover(graph).names == ["up.0", "up.1"])
        #expect(BranchDiscovery.discover(graph).stages.isEmpty)
        #expect(try Analyzer.analyze(graph).independent == false)
    }

    /// A detector's heads applied at every level of a feature pyramid (one `cls_head` and one `box_head` object for
    /// all levels, a lateral conv `fpn.i` per level): the box head at level 1 also reads the class head's level-0
    /// result (`leak`). The heads then read one another's results, but as peers do, each reading what the other
    /// reads too: a leak between heads, not a pipeline's stages, so the lateral convs (which reach the results level
    /// by level and feed no other) do not take their place.
    func pyramidHeads(leak: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f0", "stages.0", ["x"])
        g.layer("f1", "stages.1", ["f0"])
        g.layer("p0", "fpn.0", ["f0"])
        g.layer("p1", "fpn.1", ["f1"])
        var outputs: [String] = []
        for level in 0..<2 {
            g.layer("c\(level)", "cls_head", ["p\(level)"])
            if leak && level == 1 {
                g.op("m", "mean", in: "", ["c0"])
                g.op("q", "add", in: "", ["p1", "m"])
            }
            g.layer("b\(level)", "box_head", [leak && level == 1 ? "q" : "p\(level)"])
            outputs += ["c\(level)", "b\(level)"]
        }
        g.outputs(outputs)
        return g.graph
    }

    @Test func headsPerLevelReadingOneAnotherAcrossLevelsAreNoStages() throws {
        let found = BranchDiscovery.discover(pyramidHeads(leak: true))
        #expect(found.names == ["cls_head", "box_head"] && found.stages.isEmpty)
        let report = try Analyzer.analyze(pyramidHeads(leak: true))
        #expect(report.independent == false && report.findings.map(\.rule).contains("gradient-leak"))
        #expect(try Analyzer.analyze(pyramidHeads(leak: false)).independent == true)
        #expect(BranchDiscovery.discover(pyramidHeads(leak: false)).names == ["cls_head", "box_head"])
    }

    @Test func levelsSplittingTheResultsAlikeArePairedIntoOneHeadEach() throws {
        let found = BranchDiscovery.discover(SmallGraph.multiGate())
        #expect(found.branches.map(\.prefixes) == [["gates.0", "towers.0"], ["gates.1", "towers.1"]], "the gate is larger here")
        #expect(found.paired == ["towers"])
        let line = TextReporter.discovery(try Analyzer.analyze(SmallGraph.multiGate()))
        #expect(line?.hasPrefix("branches: children of gates and towers whose ops reach separate results") == true)
        #expect(try Analyzer.analyze(SmallGraph.multiGate()).independent == true)
        let shared = try Analyzer.analyze(SmallGraph.multiGate(towerShared: true))
        #expect(shared.independent == false)
        #expect(shared.findings.map(\.rule).contains("shared-storage"))
    }

    /// The same branches given by hand: `--branch gates.0,towers.0` is one branch of two modules.
    @Test func aGivenBranchOfSeveralModules() throws {
        let report = try Analyzer.analyze(SmallGraph.multiGate(towerShared: true), branches: ["gates.0,towers.0", "gates.1,towers.1"])
        #expect(report.branches == ["gates.0", "gates.1"])
        #expect(report.findings.contains { $0.rule == "shared-storage" && $0.severity == .error })
        #expect(throws: InputError.self) { try Analyzer.analyze(SmallGraph.multiGate(), branches: ["gates.0,tower.0", "gates.1"]) }
    }

    @Test func levelsSplittingTheResultsDifferentlyAreNotPaired() {
        // Gate 0 drives both towers: the gates level no longer splits the results, only the towers do.
        let found = BranchDiscovery.discover(SmallGraph.multiGate(gatesFeedOneResult: false))
        #expect(found.paired.isEmpty)
        #expect(found.names == ["towers.0", "towers.1"])
    }
}

extension HeadDiscoveryTests {
    /// DeiT wrapped in the user's module (`self.model = timm.create_model(...)`): the distilled heads averaged
    /// in `model`'s forward, which every op lies in, are averaged by the model's own forward, and stay heads.
    /// LR-ASPP wrapped the same way still sums inside its classifier, beside the backbone: one result.
    func wrapped(sumIn module: String, heads: [String]) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("low", "model.backbone.0", ["x"])
        g.layer("t", "model.backbone.1", ["low"])
        g.layer("a", heads[0], ["low"])
        g.layer("b", heads[1], ["t"])
        g.op("sum", "add", in: module, ["a", "b"])
        g.op("y", "div", in: module, ["sum"])
        g.outputs("y")
        return g.graph
    }

    @Test func headsAveragedByAWrappedModelsForwardStayHeads() {
        let found = BranchDiscovery.discover(wrapped(sumIn: "model", heads: ["model.head", "model.head_dist"]))
        #expect(found.names == ["model.head", "model.head_dist"])
    }

    @Test func pathsSummedInsideAWrappedModelsHeadAreOneResult() {
        let graph = wrapped(sumIn: "model.classifier", heads: ["model.classifier.low", "model.classifier.high"])
        #expect(BranchDiscovery.discover(graph).terminals == 1)
    }
}

extension HeadDiscoveryTests {
    /// Under `torch.autocast` each linear reads its weight and bias as bfloat16 casts made in its module, not
    /// the parameters. `leak`: head2 reads `t + head1(t)`, with the trunk's relu in the model's forward.
    /// `oneObject`: head2 is head1 under another name, and autocast hands its second call the casts cached
    /// in its first (made under head1): head2's call site reads no parameter itself.
    func autocastHeads(leak: Bool = false, oneObject: Bool = false) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        if oneObject { g.share(["head1.weight", "head2.weight"]); g.share(["head1.bias", "head2.bias"]) }
        for module in ["trunk", "head1", "head2"] {
            let cast = oneObject && module == "head2" ? "head1" : module
            if cast == module {
                g.op("\(module).w", "_to_copy", in: module, [], weights: ["\(module).weight"])
                g.op("\(module).b", "_to_copy", in: module, [], weights: ["\(module).bias"])
            }
            g.op("\(module).wt", "t", in: module, ["\(cast).w"])
            let input = module == "trunk" ? "x" : module == "head2" && leak ? "mix" : "t"
            g.op("\(module).y", "linear", in: module, [input, "\(module).wt", "\(cast).b"])
            if module == "trunk" { g.op("t", "relu", in: "", ["trunk.y"]) }
            if module == "head1" && leak { g.op("mix", "add", in: "", ["t", "head1.y"]) }
        }
        g.op("o1", "_to_copy", in: "", ["head1.y"])
        g.op("o2", "_to_copy", in: "", ["head2.y"])
        g.outputs("o1", "o2")
        return g.graph
    }

    /// The casts only prepare the weights, and the linear is still the learned op whose result is the
    /// head's. (Taken for results, the six casts made the trunk a head.)
    @Test func weightsCastBeforeUseLeaveTheLinearTheLearnedOp() throws {
        let found = BranchDiscovery.discover(autocastHeads())
        #expect(found.terminals == 2)
        #expect(found.names == ["head1", "head2"])
        #expect(try Analyzer.analyze(autocastHeads()).independent == true)
    }

    /// The trunk's linear reads the model's input and only casts of its parameters: what it makes is still
    /// learned, not an encoding of the input any head may read. (Taken for input, the leak made head1 the
    /// only origin of what head2 reads, head1 the trunk, and the heads vanished: no branches, exit 3.)
    @Test func aLeakUnderAutocastIsStillFoundBetweenTheHeads() throws {
        let graph = autocastHeads(leak: true)
        #expect(BranchDiscovery.discover(graph).names == ["head1", "head2"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("gradient-leak"))
    }

    /// One head object in both slots under autocast: the second call computes with the first call's casts, and
    /// is still a head that learns. (Counted as learning only where an op read a parameter itself, head2 was a
    /// tap on the trunk and the heads vanished: no branches, exit 3 on shared heads.)
    @Test func oneHeadObjectUnderAutocastIsStillTwoHeads() throws {
        let graph = autocastHeads(oneObject: true)
        #expect(BranchDiscovery.discover(graph).names == ["head1", "head2"])
        let report = try Analyzer.analyze(graph)
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("shared-storage"))
    }
}

extension HeadDiscoveryTests {
    /// A decoder returning its key cache (Hugging Face's `use_cache`, on by default in eval): each layer's
    /// keys, rotated by tables every layer shares, are a result that its attention and the layers after it
    /// go on computing with. Neither the layer's projections nor the position tables are heads: the keys are
    /// taps on one computation, and with them returned a plain language model has no heads to compare.
    /// `lmHead`: false for the base model (`LlamaModel`), whose last hidden state is returned with the cache:
    /// nothing learned follows the layers, and the rotary tables (a buffer applied to the positions, an
    /// encoding of the input) and the final norm are still no heads, nor the layers, each reading the one
    /// before. (A decoder whose layers are the model's own children, not a wrapped model's, is not covered:
    /// its layers then read like pipeline stages with no other level to prefer, as `up.i` below.)
    func keyCache(layers: Int = 2, lmHead: Bool = true) -> Graph {
        var g = SmallGraph(inputs: ["ids", "positions"])
        let base = "model."
        g.share([base + "rotary.inv_freq"], kind: .buffer, trainable: false)
        g.layer("e", base + "embed", ["ids"])
        g.op("x0", "mul", in: "model", ["e"])  // the embedding's scale, in the wrapped model's own forward
        g.op("rot", "mul", in: base + "rotary", ["positions"], weights: [base + "rotary.inv_freq"])
        var x = "x0", keys: [String] = []
        for i in 0..<layers {
            let attention = base + "layers.\(i).attn"
            g.layer("q\(i)", attention + ".q", [x])
            g.layer("k\(i)", attention + ".k", [x])
            g.op("qr\(i)", "mul", in: attention, ["q\(i)", "rot"])
            g.op("kr\(i)", "mul", in: attention, ["k\(i)", "rot"])
            g.op("cache\(i)", "cat", in: attention, ["kr\(i)"])
            g.op("s\(i)", "matmul", in: attention, ["qr\(i)", "cache\(i)"])
            g.layer("o\(i)", attention + ".o", ["s\(i)"])
            g.op("x\(i + 1)", "add", in: base + "layers.\(i)", [x, "o\(i)"])
            x = "x\(i + 1)"
            keys.append("cache\(i)")
        }
        g.layer("n", base + "norm", [x])
        if lmHead { g.layer("logits", "lm_head", ["n"]) }
        for name in [lmHead ? "logits" : "n"] + keys { g.outputs(name) }
        return g.graph
    }

    @Test func aReturnedKeyCacheIsNoSetOfHeads() throws {
        let found = BranchDiscovery.discover(keyCache())
        #expect(found.terminals >= 3, "the keys are results")
        #expect(found.branches.isEmpty, "\(found.names)")
        #expect(try Analyzer.analyze(keyCache()).undecidedReason == .noBranches)
    }

    @Test func aBaseModelReturningItsKeyCacheHasNoHeadsEither() throws {
        let found = BranchDiscovery.discover(keyCache(lmHead: false))
        #expect(found.terminals >= 3, "the keys are results")
        #expect(found.branches.isEmpty, "\(found.names)")
        #expect(found.alternatives.isEmpty, "\(found.alternatives)")
    }
}

extension HeadDiscoveryTests {
    /// Uncertainty weighting written in the model's forward: each head's loss (a scalar) scaled by `exp(-s)`
    /// and `s` added, `s` a parameter of the model or of a loss module (`criterion`), the losses one by one or
    /// stacked. Those ops read a parameter but only weigh scores, so the heads' outputs stay their results.
    /// `shared`: head2 is head1 (one object in both slots). `timestep`: the model is also given a scalar (a
    /// diffusion step) that a learned embedding reads: a scalar the model is given is no score.
    func weightedLosses(in module: String = "", stacked: Bool = false, shared: Bool = false, timestep: Bool = false) -> Graph {
        var g = SmallGraph(inputs: timestep ? ["x", "y", "step"] : ["x", "y"], shapes: ["step": []])
        g.layer("t0", "trunk", ["x"])
        if timestep {
            g.op("te", "linear", in: "time_embed", ["step"], weights: ["time_embed.weight"])
            g.op("t", "add", in: "", ["t0", "te"])
        } else {
            g.op("t", "relu", in: "", ["t0"])
        }
        g.layer("o1", "head1", ["t"])
        g.op("o2", "linear", in: shared ? "head1" : "head2", ["t"], weights: [shared ? "head1.weight" : "head2.weight"])
        g.op("l1", "mse_loss", in: "", ["o1", "y"], shape: [])
        g.op("l2", "l1_loss", in: "", ["o2", "y"], shape: [])
        let s = module.isEmpty ? "log_vars" : module + ".log_vars"
        g.op("ns", "neg", in: module, [], weights: [s], shape: stacked ? [2] : [])
        g.op("w", "exp", in: module, ["ns"], shape: stacked ? [2] : [])
        if stacked {
            g.op("ls", "stack", in: "", ["l1", "l2"], shape: [2])
            g.op("wl", "mul", in: module, ["w", "ls"], shape: [2])
            g.op("r", "add", in: module, ["wl"], weights: [s], shape: [2])
            g.op("loss", "sum", in: module, ["r"], shape: [])
        } else {
            g.op("w1", "mul", in: module, ["w", "l1"], shape: [])
            g.op("w2", "mul", in: module, ["w", "l2"], shape: [])
            g.op("sum", "add", in: module, ["w1", "w2"], shape: [])
            g.op("loss", "add", in: module, ["sum"], weights: [s], shape: [])
        }
        g.outputs("o1", "o2", "loss")
        return g.graph
    }

    /// The weighting is after the heads, whatever holds its parameter and however it is written. (Taken for
    /// a learned op, it made the heads' outputs intermediates of one result: no branches, exit 3.)
    @Test(arguments: [("", false), ("", true), ("criterion", false), ("criterion", true)])
    func learnedLossWeightsLeaveTheHeadsTheirResults(module: String, stacked: Bool) throws {
        let graph = weightedLosses(in: module, stacked: stacked)
        let found = BranchDiscovery.discover(graph)
        #expect(found.names == ["head1", "head2"])
        #expect(found.terminals == 2)  // the loss weights, made of parameters alone, are no head's result
        #expect(try Analyzer.analyze(graph).independent == true)
    }

    @Test func oneHeadInBothSlotsUnderLearnedLossWeightsIsStillFound() throws {
        let report = try Analyzer.analyze(weightedLosses(in: "criterion", stacked: true, shared: true))
        #expect(report.independent == false)
        #expect(report.findings.map(\.rule).contains("duplicate-computation"))
    }

    /// A scalar input (a diffusion step) read by a learned embedding is computed with, not scored: the
    /// embedding stays a learned op and the heads after it are found as before.
    @Test func aScalarTheModelIsGivenIsNoScore() {
        let graph = weightedLosses(timestep: true)
        let learns = Terminals.learnedOps(graph, fromInput: graph.madeFromInputs())
        let embedding = graph.nodes.firstIndex { $0.module == "time_embed" }!
        #expect(learns[embedding])
        let lossWeight = graph.nodes.lastIndex { $0.op == "add" && $0.readsStorage }!
        #expect(!learns[lossWeight])
        #expect(BranchDiscovery.discover(graph).names == ["head1", "head2"])
    }
}

extension HeadDiscoveryTests {
    /// A batch object the exporter cannot see into (torch_geometric's `Data`, a dataclass): its tensors enter
    /// the trace as `constant`s made outside the forward, and a mask given beside it is the only input named.
    /// They may be input data, so what the heads make of them stays their result. (Counted as made from
    /// nothing, the heads' outputs were no results: no branches, exit 3.)
    @Test func tensorsMadeOutsideTheForwardMayBeInputs() throws {
        var g = SmallGraph(inputs: ["mask"])
        g.op("x", "constant", in: "", [])
        g.layer("t", "trunk", ["x"])
        g.layer("o1", "head1", ["t"])
        g.layer("o2", "head2", ["t"])
        g.op("n", "sum", in: "", ["mask"], shape: [])
        g.outputs("o1", "o2", "n")
        #expect(BranchDiscovery.discover(g.graph).names == ["head1", "head2"])
        #expect(try Analyzer.analyze(g.graph).independent == true)
    }
}

extension HeadDiscoveryTests {
    /// `count` heads on the trunk, each reading the trunk's output scaled its own way (so no two compute the
    /// same result); `alias`: the second head of the pair is the first head's module object.
    func manyHeads(_ count: Int, alias: (Int, Int)? = nil) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        if let (a, b) = alias { g.share(["heads.\(a).weight", "heads.\(b).weight"]) }
        g.layer("t", "trunk", ["x"])
        for i in 0..<count {
            g.op("in\(i)", "mul", in: "", ["t"], attributes: [("other", .int(i + 1))])
            g.layer("y\(i)", "heads.\(i)", ["in\(i)"])
        }
        g.outputs((0..<count).map { "y\($0)" })
        return g.graph
    }

    /// Beyond 64 separate results the heads from the 64th on are one branch: storage two of them share is
    /// still found (an error, as between any heads), and without it the verdict is left open, since what
    /// else lies between them is not compared. (Before, `heads[70] = heads[65]` was said to be independent.)
    @Test func headsBeyondTheResultsDiscoveryTellsApartAreNotPassed() throws {
        let shared = try Analyzer.analyze(manyHeads(80, alias: (65, 70)))
        #expect(shared.independent == false)
        #expect(shared.findings.compactMap(\.sharedStorage).map(\.branches) == [["heads.65", "heads.70"]])
        let own = try Analyzer.analyze(manyHeads(80))
        #expect(own.independent == nil && own.undecidedReason == .tooManyResults && own.lumped == ["heads.63"])
        #expect(TextReporter.verdict(own).contains("cannot decide: the model has more separate results than 64"))
        #expect(JSONReporter.render(own).contains(#""lumped": ["heads.63"]"#))
        let few = try Analyzer.analyze(manyHeads(40, alias: (35, 38)))
        #expect(few.independent == false && few.lumped.isEmpty)
        #expect(try Analyzer.analyze(manyHeads(40)).independent == true)
    }
}

extension HeadDiscoveryTests {
    /// Copies of one head averaged inside a module of their own, all applied to what the module is handed:
    /// an `Ensemble` module, or RepViT's classifier returning `(head(x) + head_dist(x)) / 2`. `kernels`: the
    /// weight shape of each path's layer; `input`: what each path reads.
    func averagedInside(kernels: [[Int]], inputs: [String] = ["t", "t", "t"]) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("u", "trunk.0", ["x"])
        g.layer("t", "trunk.1", ["u"])
        for (i, kernel) in kernels.enumerated() {
            g.share(["ensemble.models.\(i).weight"], shape: kernel)
            g.op("p\(i)", "linear", in: "ensemble.models.\(i)", [inputs[i]], weights: ["ensemble.models.\(i).weight"])
        }
        g.op("s1", "add", in: "ensemble", ["p0", "p1"])
        var sum = "s1"
        if kernels.count == 3 { g.op("s2", "add", in: "ensemble", ["s1", "p2"]); sum = "s2" }
        g.op("y", "div", in: "ensemble", [sum])
        g.outputs("y")
        return g.graph
    }

    @Test func copiesOfAHeadAveragedInsideAModuleStayHeads() {
        let found = BranchDiscovery.discover(averagedInside(kernels: [[2, 4], [2, 4], [2, 4]]))
        #expect(found.names == ["ensemble.models.0", "ensemble.models.1", "ensemble.models.2"])
    }

    /// RepViT's distillation head handed the class head's logits by a pre-hook (`x + head(x).mean()`): the
    /// copies still compute alike; the leak is between them, found as such, not a reason to merge them.
    @Test func copiesAveragedInsideAModuleStayHeadsWhenOneReadsAnother() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for i in 0..<2 { g.share(["head.copy\(i).weight"], shape: [2, 4]) }
        g.op("p0", "linear", in: "head.copy0", ["t"], weights: ["head.copy0.weight"])
        g.op("m", "mean", in: "head.copy1", ["p0"], shape: [])
        g.op("tl", "add", in: "head.copy1", ["t", "m"])
        g.op("p1", "linear", in: "head.copy1", ["tl"], weights: ["head.copy1.weight"])
        g.op("s", "add", in: "head", ["p0", "p1"])
        g.op("y", "div", in: "head", ["s"])
        g.outputs("y")
        #expect(BranchDiscovery.discover(g.graph).names == ["head.copy0", "head.copy1"])
        #expect(try Analyzer.analyze(g.graph).independent == false)
    }

    /// A 3×3 and a 1×1 path summed (a RepVGG block at the end) compute differently: one head. Paths of one
    /// shape reading different features (the last two trunk layers) are one head too.
    @Test func differentPathsSummedInsideAModuleAreOneResult() {
        #expect(BranchDiscovery.discover(averagedInside(kernels: [[2, 4, 3, 3], [2, 4, 1, 1]])).terminals == 1)
        #expect(BranchDiscovery.discover(averagedInside(kernels: [[2, 4], [2, 4]], inputs: ["u", "t"])).terminals == 1)
    }
}

extension HeadDiscoveryTests {
    /// The seed's bug with the classifiers held in one ModuleList: each head is a body beside the trunk
    /// (`branch1`, `branch2`, slices of one Sequential: `block` is one object) and `classifiers.i`. The bodies
    /// and the list's entries reach the results one for one, at two levels: paired into one head each, so the
    /// bodies' shared block is found. (Before, the list, reaching every result, merged the bodies into one
    /// group, and the classifiers alone were the heads: independent.)
    func bodiesBesideListedClassifiers(shared: Bool, list: String = "classifiers") -> Graph {
        var g = SmallGraph(inputs: ["x"])
        if shared { g.share(["branch1.block.weight", "branch2.block.weight"]) }
        g.layer("t", "trunk", ["x"])
        for i in 1...2 {
            g.layer("b\(i)", "branch\(i).block", ["t"])
            g.layer("y\(i)", "\(list).\(i - 1)", ["b\(i)"])
        }
        g.outputs("y1", "y2")
        return g.graph
    }

    @Test func bodiesAndAListOfTheirClassifiersArePairedIntoHeads() throws {
        let found = BranchDiscovery.discover(bodiesBesideListedClassifiers(shared: true))
        #expect(found.branches.map(\.prefixes) == [["branch1", "classifiers.0"], ["branch2", "classifiers.1"]])
        #expect(try Analyzer.analyze(bodiesBesideListedClassifiers(shared: true)).independent == false)
        #expect(try Analyzer.analyze(bodiesBesideListedClassifiers(shared: false)).independent == true)
        // The list held in a module of its own (`self.head.classifiers`).
        let nested = BranchDiscovery.discover(bodiesBesideListedClassifiers(shared: true, list: "head.classifiers"))
        #expect(nested.branches.map(\.prefixes) == [["branch1", "head.classifiers.0"], ["branch2", "head.classifiers.1"]])
    }

    /// Bodies in one ModuleList, classifiers in another, and the second classifier also reading the first
    /// body's result (`fcs[1](branches[1](t) + branches[0](t))`): the heads stay three, each a body with its
    /// classifier, and the leak is found between them (the first body reaches the second result only
    /// through what the second body computed on).
    @Test func aLeakBetweenListedBodiesAndListedClassifiersKeepsTheHeads() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for i in 0..<3 { g.layer("b\(i)", "branches.\(i)", ["t"]) }
        g.op("m", "add", in: "", ["b1", "b0"])
        for (i, input) in ["b0", "m", "b2"].enumerated() { g.layer("o\(i)", "fcs.\(i)", [input]) }
        g.outputs("o0", "o1", "o2")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.branches.map(\.prefixes) == [["branches.0", "fcs.0"], ["branches.1", "fcs.1"], ["branches.2", "fcs.2"]])
        let rules = try Analyzer.analyze(g.graph).findings.map(\.rule)
        #expect(rules.contains("gradient-leak") && rules.contains("cross-branch-dependency"))
    }

    /// Bodies in a ModuleList, classifiers at the model's root, and the second body reading the first one's
    /// result with the trunk's (`bodies[1](t + bodies[0](t))`). The bodies feed one another, as a pipeline's
    /// stages do, but the second also reads what the first read: peers, so the bodies still pair with the
    /// classifiers, and the list is not named trunk.
    @Test func aListedBodyReadingItsPeersResultWithTheTrunksKeepsTheHeads() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("b0", "bodies.0", ["t"])
        g.op("m", "add", in: "", ["t", "b0"])
        g.layer("b1", "bodies.1", ["m"])
        g.layer("b2", "bodies.2", ["t"])
        for (i, input) in ["b0", "b1", "b2"].enumerated() { g.layer("o\(i)", "cls\(i + 1)", [input]) }
        g.outputs("o0", "o1", "o2")
        let found = BranchDiscovery.discover(g.graph)
        #expect(found.branches.map { Set($0.prefixes) } == [["bodies.0", "cls1"], ["bodies.1", "cls2"], ["bodies.2", "cls3"]])
        #expect(found.trunk == ["trunk"])
        #expect(try Analyzer.analyze(g.graph).findings.map(\.rule).contains("gradient-leak"))
    }

    /// Per-layer class and box heads, each a ModuleList with an entry per decoder layer (Deformable DETR):
    /// both lists split the results by layer, but no sibling reaches one layer's results alone, so the lists
    /// stay the heads.
    @Test func listsSplittingByLayerWithNoSiblingAlikeStayTheHeads() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("h0", "decoder.0", ["x"])
        g.layer("h1", "decoder.1", ["h0"])
        for (i, h) in ["h0", "h1"].enumerated() {
            g.layer("c\(i)", "class_embed.\(i)", [h])
            g.layer("b\(i)", "bbox_embed.\(i)", [h])
        }
        g.outputs("c0", "b0", "c1", "b1")
        #expect(BranchDiscovery.discover(g.graph).names == ["class_embed", "bbox_embed"])
        // Both are ModuleLists: neither is taken apart into its entries.
        var typed = g.graph
        typed.modules = [ModuleInfo(path: "", type: "Model"), ModuleInfo(path: "class_embed", type: "ModuleList"), ModuleInfo(path: "bbox_embed", type: "ModuleList")]
        #expect(BranchDiscovery.discover(typed).names == ["class_embed", "bbox_embed"])
    }
}

extension HeadDiscoveryTests {
    /// Faster R-CNN's box predictor, its box layer handed the class scores' mean by a pre-hook. RoI pooling
    /// writes the pooled features into zeros (`out[idx] = roi_align(...)`): the features, not a constant, so the
    /// box layer reads more than what the class layer alone made, and both stay heads, the leak between them.
    @Test(arguments: [true, false])
    func featuresWrittenIntoZerosAreTheFeatures(leak: Bool) throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f", "backbone", ["x"])
        g.op("z", "zeros", in: "pool", [])
        g.op("p", "index_put", in: "pool", ["z", "f"], inplace: true)
        g.layer("h", "box_head", ["p"])
        g.layer("c", "predictor.cls", ["h"])
        if leak {
            g.op("m", "mean", in: "predictor.bbox", ["c"], shape: [])
            g.op("hm", "add", in: "predictor.bbox", ["h", "m"])
        }
        g.layer("b", "predictor.bbox", [leak ? "hm" : "h"])
        g.outputs("c", "b")
        #expect(BranchDiscovery.discover(g.graph).names == ["predictor.cls", "predictor.bbox"])
        #expect(try Analyzer.analyze(g.graph).independent == !leak)
    }
}

