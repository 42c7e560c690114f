import Analysis
import GraphIR
import Testing
import TestSupport

/// Each rule on graphs written op by op (no tracer in between, so a tracer bug cannot fail these), with
/// what it must find asserted as evidence: positive and negative cases, the rule's executable spec.
@Suite struct RuleEvidenceTests {
    /// A trunk and two heads reading its output, the heads' results concatenated; `head2` builds head2's op.
    func twoHeads(
        mode: Mode = .train, prepare: (inout SmallGraph) -> Void = { _ in },
        head2: (inout SmallGraph) -> Void = { $0.layer("b", "head2.fc", ["t"]) }
    ) -> Graph {
        var g = SmallGraph(inputs: ["x"], mode: mode)
        prepare(&g)
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc", ["t"])
        head2(&g)
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        return g.graph
    }

    func check(_ rule: some Rule, _ graph: Graph, branches: [String] = ["head1", "head2"]) -> [Finding] {
        rule.check(AnalysisContext(graph: graph, branches: branches))
    }

    // MARK: shared-storage

    @Test func oneWeightUnderTwoHeadsIsSharedStorage() throws {
        let graph = twoHeads(prepare: { $0.share(["head1.fc.weight", "head2.fc.weight"]) })
        let found = check(SharedStorageRule(), graph)
        let evidence = try #require(found.first?.sharedStorage)
        #expect(found.count == 1 && found[0].severity == .error)
        #expect(evidence.branches == ["head1", "head2"])
        #expect(evidence.storages.map(\.names) == [["head1.fc.weight", "head2.fc.weight"]])
        // Without a module table, modules holding the same tensors under the same names are one group.
        #expect(evidence.groups.map(\.paths) == [["head1", "head2"]])
        #expect(evidence.cause == .reusedTensors, "no module table says the modules are one object")
        #expect(evidence.places.map(\.module) == ["head1.fc", "head2.fc"])
        #expect(evidence.runningStatistics.isEmpty)
    }

    /// A teacher that is the student itself, then frozen (`for p in teacher.parameters(): p.requires_grad_(False)`),
    /// freezes the student: the finding says so when every shared parameter is frozen, and not otherwise. One frozen
    /// base under adapters of each head's own (LoRA) is the same graph, meant: the note says how to declare it.
    @Test func sharedParametersAllFrozenAreSaidToBe() throws {
        for trainable in [false, true] {
            let graph = twoHeads(prepare: { $0.share(["head1.fc.weight", "head2.fc.weight"], trainable: trainable) })
            let evidence = try #require(check(SharedStorageRule(), graph).first?.sharedStorage)
            #expect(evidence.frozen == !trainable)
            let note = evidence.wording.notes.first { $0.hasPrefix("every shared parameter is frozen") }
            #expect((note != nil) == !trainable)
            #expect(note.map { $0.hasSuffix("declare it: `--allow-shared 'head1'`") } ?? true)
        }
    }

    @Test func oneModuleObjectUnderTwoNamesIsSaidSo() throws {
        var graph = twoHeads(prepare: { $0.share(["head1.fc.weight", "head2.fc.weight"]) })
        graph.modules = [
            ModuleInfo(path: "", type: "Model", instance: "m"), ModuleInfo(path: "head1", type: "Linear", instance: "h"),
            ModuleInfo(path: "head2", type: "Linear", instance: "h"),
        ]
        let evidence = try #require(check(SharedStorageRule(), graph).first?.sharedStorage)
        #expect(evidence.cause == .oneObject)
    }

    /// A branch of several modules (`task` with the `out` layer its forward calls after it) whose `out` is
    /// the other branch's module itself (`self.aux = self.out`): the group names the modules, not each tensor.
    @Test func oneModuleUnderASecondPrefixOfABranchIsOneObject() throws {
        var g = SmallGraph(inputs: ["x"])
        g.share(["out.weight", "aux.weight"])
        g.layer("t", "trunk", ["x"])
        g.layer("f", "task", ["t"])
        g.op("a", "linear", in: "out", ["f"], weights: ["out.weight"])
        g.op("b", "linear", in: "aux", ["t"], weights: ["aux.weight"])
        g.outputs("a", "b")
        var graph = g.graph
        graph.modules = [
            ModuleInfo(path: "", type: "Model", instance: "m"), ModuleInfo(path: "task", type: "Linear", instance: "t"),
            ModuleInfo(path: "out", type: "Linear", instance: "o"), ModuleInfo(path: "aux", type: "Linear", instance: "o"),
        ]
        let context = AnalysisContext(graph: graph, branches: [Branch(name: "task", prefixes: ["task", "out"]), Branch(name: "aux")])
        let evidence = try #require(SharedStorageRule().check(context).first?.sharedStorage)
        #expect(evidence.groups.map(\.label) == ["out ≡ aux (Linear)"] && evidence.groups[0].sameObject)
        #expect(evidence.cause == .oneObject)
        #expect(evidence.wording.help?.hasPrefix("out, aux are one module object") == true)
    }

    /// Two heads, each a container (`type`, distinct objects) of a Linear `fc` and a BatchNorm `bn`; `shared`:
    /// the children that are one object in both. Every child one object: new containers around the same layers
    /// (the seed's slices; `copy.copy` of a model). Some: a layer made once and placed in each head.
    @Test(arguments: [
        (["fc", "bn"], "Sequential", Evidence.SharedStorage.Cause.slicedContainers(types: ["Sequential"]), "slicing a Sequential"),
        (["fc", "bn"], "Head", .slicedContainers(types: ["Head"]), "a shallow `copy.copy(model)`, or one module passed to each constructor"),
        (["bn"], "Sequential", .oneObjectInside, "a layer made once and placed in every branch"),
    ])
    func howSharedChildrenCameAboutIsSaid(shared: [String], type: String, cause: Evidence.SharedStorage.Cause, help: String) throws {
        var g = SmallGraph(inputs: ["x"])
        for child in shared { g.share(["head1.\(child).weight", "head2.\(child).weight"]) }
        g.layer("t", "trunk", ["x"])
        for head in ["head1", "head2"] {
            g.op("\(head)f", "linear", in: "\(head).fc", ["t"], weights: ["\(head).fc.weight"])
            g.op("\(head)b", "batch_norm", in: "\(head).bn", ["\(head)f"], weights: ["\(head).bn.weight"])
        }
        g.outputs("head1b", "head2b")
        var graph = g.graph
        graph.modules = [ModuleInfo(path: "", type: "Model", instance: "m")] + ["head1", "head2"].flatMap { head in
            [ModuleInfo(path: head, type: type, instance: head)] + ["fc", "bn"].map { child in
                ModuleInfo(path: "\(head).\(child)", type: child, instance: shared.contains(child) ? child : "\(head).\(child)")
            }
        }
        let evidence = try #require(check(SharedStorageRule(), graph).first?.sharedStorage)
        #expect(evidence.cause == cause)
        #expect(evidence.wording.help?.contains(help) == true)
    }

    /// Where the exporter recorded the model's construction, the evidence names the user's lines that
    /// assigned the shared modules — the nearest assignment at or above each (a slice's children have none).
    @Test func theLinesThatAssignedTheSharedModulesAreNamed() throws {
        var graph = twoHeads(prepare: { $0.share(["head1.fc.weight", "head2.fc.weight"]) })
        graph.modules = [
            ModuleInfo(path: "", type: "Model"), ModuleInfo(path: "head1", type: "Sequential", source: "model.py:24"),
            ModuleInfo(path: "head1.fc", type: "Linear"), ModuleInfo(path: "head2", type: "Sequential", source: "model.py:25"),
            ModuleInfo(path: "head2.fc", type: "Linear"), ModuleInfo(path: "trunk", type: "Linear", source: "model.py:21"),
        ]
        let evidence = try #require(check(SharedStorageRule(), graph).first?.sharedStorage)
        #expect(evidence.assignments == ["model.py:24", "model.py:25"])
        #expect(evidence.wording.details.last == "assigned at model.py:24, 25")
        let sarif = SARIFReporter.render(try Analyzer.analyze(graph, branches: ["head1", "head2"]), graph: graph, inputPath: "t.json", toolVersion: "0")
        #expect(sarif.contains(#""uri": "model.py"}, "region": {"startLine": 24}"#))
        #expect(try check(SharedStorageRule(), twoHeads(prepare: { $0.share(["head1.fc.weight", "head2.fc.weight"]) })).first?.sharedStorage?.assignments.isEmpty == true)
    }

    @Test func sharedBatchNormStatisticsAreNamed() throws {
        var g = SmallGraph(inputs: ["x"])
        g.share(["head1.bn.running_mean", "head2.bn.running_mean"], kind: .buffer)
        g.layer("t", "trunk", ["x"])
        g.op("a", "batch_norm", in: "head1.bn", ["t"], weights: ["head1.bn.running_mean"])
        g.op("b", "batch_norm", in: "head2.bn", ["t"], weights: ["head2.bn.running_mean"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        let evidence = try #require(check(SharedStorageRule(), g.graph).first?.sharedStorage)
        #expect(evidence.runningStatistics == ["running_mean"] && evidence.statisticsModules == 1)
        #expect(evidence.storages.map(\.kind) == [.buffer])
    }

    @Test func separateWeightsAreNotShared() {
        #expect(check(SharedStorageRule(), twoHeads()).isEmpty)
    }

    /// One mask tensor registered as a buffer in both heads and read in the parent's forward, on the trunk's
    /// tensor (so no op of either head reads it): named under two heads, it is theirs, shared.
    @Test func aTensorNamedUnderTwoHeadsIsSharedWhereverItIsRead() throws {
        let graph = twoHeads(prepare: { g in
            g.share(["head1.mask", "head2.mask"], kind: .buffer)
            g.op("m", "mul", in: "", ["x"], weights: ["head1.mask"])
        })
        let evidence = try #require(check(SharedStorageRule(), graph).first?.sharedStorage)
        #expect(evidence.storages.map(\.names) == [["head1.mask", "head2.mask"]])
    }

    /// The parent's own parameter scales each head's output in the parent's forward: it is the parent's, as
    /// the trunk's weights are, not shared between the heads, and no gradient leaks into it.
    @Test func aParameterNoHeadNamesIsTheTrunks() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1", ["t"])
        g.layer("b", "head2", ["t"])
        g.op("sa", "mul", in: "", ["a"], weights: ["scale"])
        g.op("sb", "mul", in: "", ["b"], weights: ["scale"])
        g.outputs("sa", "sb")
        #expect(check(SharedStorageRule(), g.graph).isEmpty)
        #expect(check(GradientLeakRule(), g.graph).isEmpty)
    }

    /// Two-stage Deformable DETR: the last slot of the class heads' list (`class_embed.2`, also held by the
    /// decoder as `model.decoder.class_embed.2`) is called by the encoder's proposal head only. One head names
    /// it and a trunk module does too: it is the trunk's, and only the ops that use it say whose it is.
    /// `readByBoth`: the class heads use it as well, and then it is shared.
    func proposalHeadInTheClassList(readByBoth: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "model.encoder", ["x"])
        g.share(["class_embed.2.weight", "model.decoder.class_embed.2.weight"])
        g.layer("e", "model.enc_output", ["t"])
        g.op("p", "linear", in: "model.decoder.class_embed.2", ["e"], weights: ["class_embed.2.weight"])
        g.layer("h", "model.decoder", ["t"])
        g.layer("c", "class_embed.0", ["h"])
        g.layer("b", "bbox_embed", ["h"])
        var outputs = ["c", "b", "p"]
        if readByBoth {
            g.op("c2", "linear", in: "class_embed.2", ["h"], weights: ["class_embed.2.weight"])
            outputs.append("c2")
        }
        g.outputs(outputs)
        return g.graph
    }

    @Test func aTensorOneHeadNamesBesideTheTrunkIsSharedOnlyWhenTwoHeadsUseIt() throws {
        let heads = ["model.enc_output", "class_embed", "bbox_embed"]
        #expect(check(SharedStorageRule(), proposalHeadInTheClassList(readByBoth: false), branches: heads).isEmpty)
        let both = proposalHeadInTheClassList(readByBoth: true)
        let evidence = try #require(check(SharedStorageRule(), both, branches: heads).first?.sharedStorage)
        #expect(evidence.branches == ["model.enc_output", "class_embed"])
    }

    // MARK: cross-branch-dependency and gradient-leak

    /// head2 reads head1's output: one data edge, and head2's loss reaches head1's weight.
    func leaking(detached: Bool = false) -> Graph {
        twoHeads(head2: { g in
            if detached {
                g.op("d", "detach", in: "", ["a"])
                g.layer("b", "head2.fc", ["d"])
            } else {
                g.layer("b", "head2.fc", ["a"])
            }
        })
    }

    @Test func aHeadReadingAnothersOutputIsADataEdge() throws {
        let cross = try #require(check(CrossBranchDependencyRule(), leaking()).first?.crossBranchDependency)
        #expect(cross.pairs == [.init(source: "head1", target: "head2", data: 1)])
        let edge = try #require(cross.edges.first)
        #expect(cross.nodes[edge.producer!.index]?.module == "head1.fc" && cross.nodes[edge.consumer.index]?.module == "head2.fc")
        #expect(cross.places.map(\.module) == ["head2.fc"])
    }

    /// head2 reads head1's output, and head1's only weight is the trunk's, tied (GPT-2's LM head is the word
    /// embedding; a value head reads the logits): head2's loss trains the trunk, not head1, so the edge ties no
    /// head to another. With a parameter of head1's own (a bias), it does.
    @Test func aHeadReadingAnOutputMadeWithTheTrunksTiedWeightTiesNoHead() {
        let tied = twoHeads(prepare: { $0.share(["trunk.embedding.weight", "head1.fc.weight"]) }, head2: { $0.layer("b", "head2.fc", ["a"]) })
        #expect(check(CrossBranchDependencyRule(), tied).isEmpty)
        #expect(check(GradientLeakRule(), tied).isEmpty)
        let own = twoHeads(prepare: { $0.share(["trunk.embedding.weight", "head1.fc.weight"]) }, head2: { g in
            g.op("a2", "add", in: "head1.fc", ["a"], weights: ["head1.fc.bias"])
            g.layer("b", "head2.fc", ["a2"])
        })
        #expect(check(CrossBranchDependencyRule(), own).map(\.severity) == [.error])
    }

    /// Both heads' BatchNorms are one module: head2 reads statistics head1's forward wrote.
    @Test func stateOneHeadWroteIsAStateEdge() throws {
        var g = SmallGraph(inputs: ["x"])
        g.share(["head1.bn.running_mean", "head2.bn.running_mean"], kind: .buffer)
        g.layer("t", "trunk", ["x"])
        g.op("a", "batch_norm", in: "head1.bn", ["t"], weights: ["head1.bn.running_mean"], writes: ["head1.bn.running_mean"])
        g.op("b", "batch_norm", in: "head2.bn", ["t"], weights: ["head2.bn.running_mean"], writes: ["head2.bn.running_mean"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        let cross = try #require(check(CrossBranchDependencyRule(), g.graph).first?.crossBranchDependency)
        #expect(cross.pairs == [.init(source: "head1", target: "head2", state: 1)])
        #expect(cross.storages.map(\.name) == ["head1.bn.running_mean"])
    }

    /// A tensor named after head1 that head2 reads (TensorBoard draws the edge from head1): a parameter edge.
    @Test func aTensorNamedAfterAnotherHeadIsAParameterEdge() throws {
        let graph = twoHeads(prepare: { $0.share(["head1.fc.weight", "head2.fc.weight"]) })
        let cross = try #require(check(CrossBranchDependencyRule(), graph).first?.crossBranchDependency)
        #expect(cross.pairs == [.init(source: "head1", target: "head2", parameter: 1)])
    }

    @Test func headsReadingTheTrunkOnlyHaveNoCrossEdges() {
        #expect(check(CrossBranchDependencyRule(), twoHeads()).isEmpty)
        #expect(check(GradientLeakRule(), twoHeads()).isEmpty)
    }

    @Test func head2sLossReachesHead1sWeight() throws {
        let leak = try #require(check(GradientLeakRule(), leaking()).first?.gradientLeak)
        #expect(leak.owners == ["head1"] && leak.foreign == ["head2"] && leak.reached == ["head1", "head2"])
        #expect(leak.parameters.map(\.name) == ["head1.fc.weight"])
        #expect(leak.modules == ["head1.fc"])
    }

    @Test func throughDetachNoGradientLeaks() {
        #expect(check(GradientLeakRule(), leaking(detached: true)).isEmpty)
    }

    // MARK: inplace-hazard

    /// head1 applies ReLU in place to the trunk's output, then head2 reads it.
    @Test func anInPlaceOpOnSharedFeaturesIsAHazard() throws {
        #expect(check(InplaceHazardRule(), twoHeads()).isEmpty, "no in-place op")
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.op("r", "relu", in: "head1.act", ["t"], inplace: true)
        g.layer("a", "head1.fc", ["r"])
        g.layer("b", "head2.fc", ["t"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        let hazard = try #require(check(InplaceHazardRule(), g.graph).first?.inplaceHazard)
        #expect([hazard.node.op, hazard.node.module] == ["relu", "head1.act"])
        #expect(hazard.timing == .readAfter)
        #expect(hazard.readers.map(\.module) == ["head2.fc"])
        #expect(hazard.branches == ["head1", "head2"])
    }

    /// An auxiliary head scales the features it is given in place (a pre-hook's `args[0].mul_(1.5)`), and the
    /// trunk's next stage goes on from them, feeding the main head: the main head computes from what the aux
    /// head wrote. Its own intermediate written in place and read on only inside it is no hazard.
    @Test(arguments: [true, false])
    func aHeadWritingTheFeaturesTheTrunkGoesOnFromIsAHazard(givenTensor: Bool) throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("f", "stage1", ["x"])
        if givenTensor {
            g.op("w", "mul", in: "aux", ["f"], inplace: true)
            g.layer("a", "aux.fc", ["w"])
            g.layer("s", "stage2", ["w"])
        } else {
            g.layer("h", "aux.fc", ["f"])
            g.op("w", "mul", in: "aux", ["h"], inplace: true)
            g.layer("a", "aux.out", ["w"])
            g.layer("s", "stage2", ["f"])
        }
        g.layer("m", "main", ["s"])
        g.outputs("a", "m")
        let found = check(InplaceHazardRule(), g.graph, branches: ["aux", "main"])
        #expect(found.map(\.rule) == (givenTensor ? ["inplace-hazard"] : []))
        if givenTensor { #expect(found.first?.inplaceHazard?.readers.map(\.module) == ["stage2"]) }
    }

    /// A head scaling `x[:, 0]` in place writes the larger tensor through that view (the exporter's new version of
    /// `x`, `through_view`); the model's forward then slicing `x[:, 1:]` for another head reads elements the
    /// write did not touch (VOLO's class head and token-labelling aux head): no hazard from the trunk's read.
    @Test func aHeadWritingThroughAViewIsNotTheTrunksReadOfOtherElements() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("x0", "trunk", ["x"])
        g.op("v", "select", in: "", ["x0"])
        g.op("w", "mul", in: "head", ["v"], inplace: true)
        g.op("x1", "mul", in: "head", ["x0", "w"], inplace: true, attributes: [("through_view", .string("w"))])
        g.layer("a", "head.fc", ["w"])
        g.op("rest", "slice", in: "", ["x1"])
        g.layer("b", "aux.fc", ["rest"])
        g.outputs("a", "b")
        #expect(check(InplaceHazardRule(), g.graph, branches: ["head", "aux"]).isEmpty)
    }

    /// An op after the write whose result reaches no output (autograd remaking a view of the written tensor the
    /// model already holds, DeiT's `x[:, 1]` after its head scaled `x[:, 0]` in place) sees nothing that matters.
    @Test func aReaderReachingNoOutputIsNoHazard() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.op("d", "select", in: "", ["t"])
        g.op("w", "mul", in: "head1", ["t"], inplace: true)
        g.layer("a", "head1.fc", ["w"])
        g.op("again", "select", in: "head2", ["w"])
        g.layer("b", "head2.fc", ["d"])
        g.outputs("a", "b")
        #expect(check(InplaceHazardRule(), g.graph).isEmpty)
    }

    /// A model without heads whose in-place op overwrites what autograd saved (RWKV's state written in place
    /// in eval mode): backward raises whatever the heads are, so the error stands, said as such.
    @Test func anInPlaceHazardWithoutHeadsIsAnErrorOfTheModel() throws {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.op("t", "sigmoid", in: "layer", ["x"], saves: ["t"])
        g.op("w", "mul", in: "layer", ["t"], inplace: true)
        g.layer("y", "out", ["w"])
        g.outputs("y")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches.isEmpty && report.independent == false)
        #expect(TextReporter.verdict(report) == "SmallGraph: no branches found to compare, but 1 error above (no choice of heads changes them)")
    }

    /// The in-place head runs last: head2 saved the tensor for its backward before the overwrite.
    @Test func anInPlaceOpAfterAnotherHeadSavedTheTensorBreaksBackward() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("b", "head2.fc", ["t"])
        g.op("r", "relu", in: "head1.act", ["t"], inplace: true)
        g.layer("a", "head1.fc", ["r"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        let hazard = try #require(check(InplaceHazardRule(), g.graph).first?.inplaceHazard)
        #expect(hazard.timing == .savedForBackward && hazard.readers.map(\.module) == ["head2.fc"])
    }

    /// Where the trace records what autograd saved, that decides, wherever the saving op sits and in either
    /// mode (backward breaks in eval mode too): the trunk's sigmoid keeps its result, which the in-place op
    /// written as head2's argument overwrites.
    @Test(arguments: [Mode.train, .eval])
    func overwritingWhatAutogradSavedBreaksBackwardWhereverTheSaverSits(mode: Mode) throws {
        var g = SmallGraph(inputs: ["x"], mode: mode, recordsSavedTensors: true)
        g.layer("z", "trunk", ["x"], saves: ["x"])
        g.op("t", "sigmoid", in: "", ["z"], saves: ["t"])
        g.op("u", "mul", in: "", ["t"])
        g.layer("a", "head1.fc", ["u"], saves: ["u"])
        g.op("w", "mul", in: "", ["t"], inplace: true, attributes: [("argument_of", .string("head2.fc"))])
        g.layer("b", "head2.fc", ["w"], saves: ["w"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        let hazard = try #require(check(InplaceHazardRule(), g.graph).first?.inplaceHazard)
        #expect(hazard.timing == .savedForBackward)
        #expect(hazard.readers.map(\.op) == ["sigmoid"], "the multiplication by a number saves nothing")
    }

    /// A frozen head1 (its weight does not train) keeps no input, so head2's in-place ReLU breaks nothing —
    /// which the rule could only guess without the trace's record of what was saved.
    @Test func nothingSavedNothingBroken() {
        func heads(recorded: Bool) -> Graph {
            var g = SmallGraph(inputs: ["x"], recordsSavedTensors: recorded)
            g.layer("t", "trunk", ["x"], saves: ["x"])
            g.layer("a", "head1.fc", ["t"])
            g.op("r", "relu", in: "head2.act", ["t"], inplace: true, saves: ["r"])
            g.layer("b", "head2.fc", ["r"], saves: ["r"])
            g.op("y", "cat", in: "", ["a", "b"])
            g.outputs("y")
            return g.graph
        }
        #expect(check(InplaceHazardRule(), heads(recorded: true)).isEmpty)
        #expect(!check(InplaceHazardRule(), heads(recorded: false)).isEmpty, "without the record: a Linear is taken to keep its input")
    }

    /// A tensor saved by an op that backward never reaches (a probe whose result is only looked at detached)
    /// is never unpacked: overwriting it afterwards breaks nothing.
    @Test func aSaveBackwardNeverReachesIsNotBroken() {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("t", "trunk", ["x"], saves: ["x"])
        g.layer("p", "probe", ["t"], saves: ["t"])
        g.op("d", "detach", in: "", ["p"])
        g.op("r", "relu", in: "head1.act", ["t"], inplace: true, saves: ["r"])
        g.layer("a", "head1.fc", ["r"], saves: ["r"])
        g.layer("b", "head2.fc", ["d"], saves: ["d"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        #expect(check(InplaceHazardRule(), g.graph).isEmpty)
    }

    @Test func anInPlaceOpOnATensorNothingElseReadsIsFine() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("h", "head1.fc1", ["t"])
        g.op("r", "relu", in: "head1.act", ["h"], inplace: true)
        g.layer("a", "head1.fc2", ["r"])
        g.layer("b", "head2.fc", ["t"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        #expect(check(InplaceHazardRule(), g.graph).isEmpty)
    }

    /// A MoCo queue: `q @ self.queue` keeps the buffer for its backward, then the forward writes keys into it.
    /// `listed`: the exporter found autograd's version counter moved on and listed the buffer in the op's saves
    /// (not so for BatchNorm's running statistics, a `.data` write, or `q @ self.queue.clone()`).
    func queueWrittenAfterUse(listed: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("q", "encoder", ["x"], saves: ["x"])
        g.op("logits", "linear", in: "", ["q"], weights: ["queue"], saves: listed ? ["queue"] : [])
        g.op(nil, "copy", in: "", ["q"], writes: ["queue"], inplace: true)
        g.outputs("logits")
        return g.graph
    }

    @Test func overwritingABufferAutogradSavedBreaksBackward() throws {
        let findings = check(InplaceHazardRule(), queueWrittenAfterUse(listed: true), branches: [])
        let hazard = try #require(findings.first?.inplaceHazard)
        #expect(findings.count == 1)
        #expect(hazard.tensor == "queue" && hazard.timing == .savedForBackward && hazard.readers.map(\.op) == ["linear"])
        #expect(findings[0].message.contains("overwrites `queue`, which the model's forward saved for the backward pass"))
        #expect(try Analyzer.analyze(queueWrittenAfterUse(listed: true)).independent == false)
    }

    /// head a's Linear keeps `h[:, :8]`; then `h[:, 8:]` is overwritten for head b. Other elements, the same
    /// memory: autograd's version counter is per memory block, so backward raises. `listed`: the exporter saw
    /// the counter move and named the saved slice on the write (`overwrites_saved`).
    func otherSliceWritten(listed: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("h", "trunk", ["x"], saves: ["x"])
        g.op("left", "slice", in: "", ["h"])
        g.layer("ya", "a", ["left"], saves: ["left"])
        g.op("right", "slice", in: "", ["h"])
        g.op("right2", "relu", in: "", ["right"], inplace: true, overwritesSaved: listed ? ["left"] : [])
        g.layer("yb", "b", ["right2"], saves: ["right2"])
        g.outputs("ya", "yb")
        return g.graph
    }

    @Test func overwritingAnotherSliceOfASavedTensorBreaksBackward() throws {
        let finding = try #require(check(InplaceHazardRule(), otherSliceWritten(listed: true), branches: []).first)
        let hazard = try #require(finding.inplaceHazard)
        #expect(hazard.timing == .savedForBackward && hazard.readers.map(\.module) == ["a"] && hazard.tensor == nil && hazard.elsewhere)
        #expect(finding.message.contains("writes into the memory of a tensor that a saved for the backward pass before it — other elements"))
        #expect(check(InplaceHazardRule(), otherSliceWritten(listed: false), branches: []).isEmpty)
    }

    /// head a's Linear keeps the trunk's output h; then `h.data.mul_(0.5)` (or `h.detach().mul_(0.5)`) scales
    /// it for head b. Through `.data` the exporter marks the write on h `unwatched`: autograd's counter did not
    /// move, so backward computes a's gradients from the scaled values instead of raising.
    func scaledThroughAnAlias(unwatched: Bool) -> Graph {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("h", "trunk", ["x"], saves: ["x"])
        g.layer("ya", "a", ["h"], saves: ["h"])
        g.op("d", "detach", in: "", ["h"])
        g.op("d2", "mul", in: "", ["d"], inplace: true)
        var attributes: [(name: String, value: AttributeValue)] = [("through_view", .string("d2"))]
        if unwatched { attributes.append(("unwatched", .bool(true))) }
        g.op("h2", "mul", in: "", ["h", "d2"], inplace: true, attributes: attributes)
        g.layer("yb", "b", ["h2"], saves: ["h2"])
        g.outputs("ya", "yb")
        return g.graph
    }

    @Test func aWriteThroughDataCorruptsTheGradientsSilently() throws {
        let silent = try #require(check(InplaceHazardRule(), scaledThroughAnAlias(unwatched: true), branches: []).first)
        #expect(silent.inplaceHazard?.unwatched == true && silent.inplaceHazard?.timing == .savedForBackward)
        #expect(silent.message.contains("through `.data`, which autograd does not watch: backward() does not raise, and computes the gradients of a"))
        let raising = try #require(check(InplaceHazardRule(), scaledThroughAnAlias(unwatched: false), branches: []).first)
        #expect(raising.inplaceHazard?.unwatched == false && raising.message.contains("backward() raises"))
    }

    /// Other elements of a saved tensor's memory written through `.data`: autograd sees nothing and the saved
    /// elements are unchanged, so nothing breaks.
    @Test func anotherSliceWrittenThroughDataBreaksNothing() {
        var g = SmallGraph(inputs: ["x"], recordsSavedTensors: true)
        g.layer("h", "trunk", ["x"], saves: ["x"])
        g.op("left", "slice", in: "", ["h"])
        g.layer("ya", "a", ["left"], saves: ["left"])
        g.op("d", "detach", in: "", ["h"])
        g.op("right", "slice", in: "", ["d"])
        g.op("right2", "fill", in: "", ["right"], inplace: true)
        g.op("h2", "fill", in: "", ["h", "right2"], inplace: true, attributes: [("through_view", .string("right2")), ("unwatched", .bool(true))],
             overwritesSaved: ["left"])
        g.layer("yb", "b", ["h2"], saves: ["h2"])
        g.outputs("ya", "yb")
        #expect(check(InplaceHazardRule(), g.graph, branches: []).isEmpty)
    }

    @Test func aBufferWrittenThatNoSaveListsBreaksNothing() {
        #expect(check(InplaceHazardRule(), queueWrittenAfterUse(listed: false), branches: []).isEmpty)
    }

    // MARK: duplicate-computation

    /// One head module called twice on the trunk's output, its results concatenated.
    func oneHeadTwice(between: String? = nil) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for (out, input) in [("a", "t"), ("b", "t")] {
            var read = input
            if let between {
                g.op("\(out)0", between, in: "head", [input])
                read = "\(out)0"
            }
            g.op(out, "linear", in: "head", [read], weights: ["head.weight"])
        }
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        return g.graph
    }

    @Test func twoResultsThatAreOneComputationAreOneHead() throws {
        let found = check(DuplicateComputationRule(), oneHeadTwice(), branches: [])
        let duplicate = try #require(found.first?.duplicateComputation)
        #expect(found[0].severity == .error)
        #expect(duplicate.modules == ["head", "head"] && duplicate.calls == 2 && !duplicate.declared)
        // Through ops that compute the same values again (a flatten before the layer) it is still one computation.
        #expect(check(DuplicateComputationRule(), oneHeadTwice(between: "flatten"), branches: []).count == 1)
    }

    /// A decoder that normalizes its last state once for the stack of per-layer states it returns and its heads
    /// read, and once more for the state it returns (Grounding DINO's `layer_norm`), computes its trunk twice: the
    /// first copy is an intermediate the heads compute with, though returned too. Returned alone both times, it
    /// is one result twice.
    @Test func aTrunkValueComputedAgainBesideAnIntermediateIsNoHeadsResult() {
        func normalizedTwice(readByHead: Bool) -> Graph {
            var g = SmallGraph(inputs: ["x"])
            g.layer("h", "decoder.layer", ["x"])
            g.op("n1", "layer_norm", in: "decoder.norm", ["h"], weights: ["decoder.norm.weight"])
            g.op("n2", "layer_norm", in: "decoder.norm", ["h"], weights: ["decoder.norm.weight"])
            if readByHead {
                g.op("states", "stack", in: "decoder", ["n1"])
                g.layer("boxes", "bbox_embed", ["n1"])
                g.outputs("boxes", "states", "n2")
            } else {
                g.outputs("n1", "n2")
            }
            return g.graph
        }
        #expect(check(DuplicateComputationRule(), normalizedTwice(readByHead: true), branches: []).isEmpty)
        #expect(check(DuplicateComputationRule(), normalizedTwice(readByHead: false), branches: []).count == 1)
    }

    /// A VAE whose `fc_logvar` is `fc_mu`: mu and the log-variance are one computation, both returned and both
    /// read by the decoder (`mu + eps * exp(logvar / 2)`). Returned themselves, they are results, though computed
    /// with: the model returns one value twice. With a Linear each, nothing is one computation.
    @Test func twoReturnedValuesTheDecoderAlsoReadsAreStillOneComputation() {
        func vae(tied: Bool) -> Graph {
            var g = SmallGraph(inputs: ["x"])
            g.layer("h", "enc", ["x"])
            g.op("mu", "linear", in: "fc_mu", ["h"], weights: ["fc_mu.weight"])
            g.op("logvar", "linear", in: tied ? "fc_mu" : "fc_logvar", ["h"], weights: [tied ? "fc_mu.weight" : "fc_logvar.weight"])
            g.op("std", "exp", in: "", ["logvar"])
            g.op("z", "add", in: "", ["mu", "std"])
            g.layer("recon", "dec", ["z"])
            g.outputs("recon", "mu", "logvar")
            return g.graph
        }
        #expect(check(DuplicateComputationRule(), vae(tied: true), branches: []).count == 1)
        #expect(check(DuplicateComputationRule(), vae(tied: false), branches: []).isEmpty)
    }

    @Test func randomOpsNeverComputeTheSameTwice() {
        #expect(check(DuplicateComputationRule(), oneHeadTwice(between: "dropout"), branches: []).isEmpty)
    }

    /// One encoder applied to two slices of one input (`enc(x[:, 0])`, `enc(x[:, 1])`: a siamese network fed
    /// a pair) computes two results: the slices' arguments differ. The same slice twice is one result.
    @Test func oneModuleOnDifferentSlicesIsTwoComputations() {
        func twoSlices(_ first: Int, _ second: Int) -> Graph {
            var g = SmallGraph(inputs: ["x"])
            for (out, index) in [("a", first), ("b", second)] {
                g.op("\(out)0", "select", in: "", ["x"], attributes: [("dim", .int(1)), ("index", .int(index))])
                g.op(out, "linear", in: "enc", ["\(out)0"], weights: ["enc.weight"])
            }
            g.op("y", "cat", in: "", ["a", "b"])
            g.outputs("y")
            return g.graph
        }
        #expect(check(DuplicateComputationRule(), twoSlices(0, 1), branches: []).isEmpty)
        #expect(check(DuplicateComputationRule(), twoSlices(1, 1), branches: []).count == 1)
    }

    /// Two rows of one weight (`F.linear(t, W[:2])`, `F.linear(t, W[2:])`) are two weights: the trace says
    /// which bytes of the storage each op read (`read_bytes`).
    @Test func differentPartsOfOneWeightAreDifferentWeights() {
        func twoParts(_ first: [Int], _ second: [Int]) -> Graph {
            var g = SmallGraph(inputs: ["x"])
            g.layer("t", "trunk", ["x"])
            for (out, bytes) in [("a", first), ("b", second)] {
                g.op(out, "linear", in: "", ["t"], weights: ["W"], attributes: [("read_bytes", .ints(bytes))])
            }
            g.op("y", "cat", in: "", ["a", "b"])
            g.outputs("y")
            return g.graph
        }
        #expect(check(DuplicateComputationRule(), twoParts([0, 128], [128, 320]), branches: []).isEmpty)
        #expect(check(DuplicateComputationRule(), twoParts([0, 128], [0, 128]), branches: []).count == 1)
    }

    /// A value made from parameters alone, recomputed where it is used (D-FINE's decoder derives its box
    /// weighting from two scalar parameters in every layer), is equal every time by construction: no heads
    /// computing one result, though each copy reaches the boxes without another learned op.
    @Test func aValueMadeFromParametersAloneIsNoResult() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for (out, head) in [("a", "head1"), ("b", "head2")] {
            g.op("\(out)w", "abs", in: "decoder", [], weights: ["decoder.up"])
            g.layer("\(out)0", "\(head).fc", ["t"])
            g.op(out, "mul", in: "decoder", ["\(out)0", "\(out)w"])
        }
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        #expect(check(DuplicateComputationRule(), g.graph).isEmpty)
    }

    /// A trunk computed twice, once for each of two different heads, is wasteful but no bug: the results differ.
    @Test func aTrunkComputedTwiceForTwoHeadsIsNot() {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t1", "trunk", ["x"])
        g.layer("a", "head1.fc", ["t1"])
        g.op("t2", "linear", in: "trunk", ["x"], weights: ["trunk.weight"])
        g.layer("b", "head2.fc", ["t2"])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        #expect(check(DuplicateComputationRule(), g.graph).isEmpty)
    }

    // MARK: module-reuse

    func siamese(shared: Bool) -> Graph {
        var g = SmallGraph(inputs: ["p", "q"])
        g.layer("ep", "encoder", ["p"])
        if shared {
            g.op("eq", "linear", in: "encoder", ["q"], weights: ["encoder.weight"])
        } else {
            g.layer("eq", "encoder2", ["q"])
        }
        g.op("d", "sub", in: "", ["ep", "eq"])
        g.outputs("d")
        return g.graph
    }

    @Test func oneEncoderCalledTwiceIsReuse() throws {
        let found = check(ModuleReuseRule(), siamese(shared: true), branches: [])
        let reuse = try #require(found.first?.moduleReuse)
        #expect(found[0].severity == .info)
        #expect(reuse.module == "encoder" && reuse.calls == 2 && !reuse.declared)
        #expect(reuse.places.count == 2)
    }

    @Test func twoEncodersAreNoReuse() {
        #expect(check(ModuleReuseRule(), siamese(shared: false), branches: []).isEmpty)
    }

    // MARK: equal-copies

    /// Two heads of two layers each (`fc`, then `out`), their weights' values given as digests.
    func copiedHeads(_ digests: [String: String?]) -> Graph {
        var g = SmallGraph(inputs: ["x"])
        for (name, digest) in digests.sorted(by: { $0.key < $1.key }) { g.share([name], digest: digest) }
        g.layer("t", "trunk", ["x"])
        for head in ["head1", "head2"] {
            g.layer("\(head)-h", "\(head).fc", ["t"])
            g.layer("\(head)-o", "\(head).out", ["\(head)-h"])
        }
        g.op("y", "cat", in: "", ["head1-o", "head2-o"])
        g.outputs("y")
        return g.graph
    }

    @Test func separateTensorsWithEqualValuesAreEqualCopies() throws {
        let graph = copiedHeads([
            "head1.fc.weight": "w", "head2.fc.weight": "w", "head1.out.weight": "o", "head2.out.weight": "o",
        ])
        let found = check(EqualCopiesRule(), graph)
        let copies = try #require(found.first?.equalCopies)
        #expect(found.count == 1 && found[0].severity == .info)
        #expect(copies.branches == ["head1", "head2"] && copies.parameters == 2)
        #expect(copies.groups.map(\.paths) == [["head1.fc", "head2.fc"], ["head1.out", "head2.out"]])
        #expect(copies.places.map(\.module) == ["head1.fc", "head2.fc"])
    }

    @Test func onlyTheLayersWithEqualValuesAreCopies() throws {
        // A copied body with a classifier initialised on its own, like the seed's fixed heads.
        let graph = copiedHeads(["head1.fc.weight": "w", "head2.fc.weight": "w", "head1.out.weight": "p", "head2.out.weight": "q"])
        let copies = try #require(check(EqualCopiesRule(), graph).first?.equalCopies)
        #expect(copies.parameters == 1 && copies.groups.map(\.paths) == [["head1.fc", "head2.fc"]])
    }

    @Test func differentValuesOrUnknownValuesAreNoCopies() {
        #expect(check(EqualCopiesRule(), copiedHeads(["head1.fc.weight": "a", "head2.fc.weight": "b"])).isEmpty)
        #expect(check(EqualCopiesRule(), copiedHeads(["head1.fc.weight": nil, "head2.fc.weight": nil])).isEmpty)
    }

    /// Three heads of two layers; `head3FC` and `head3Out` are the digests of head3's weights (head1 and head2
    /// hold "w" and "o": copies of each other).
    func threeHeadsReport(head3FC: String, head3Out: String) throws -> Report {
        var g = SmallGraph(inputs: ["x"])
        for head in ["head1", "head2", "head3"] {
            g.share(["\(head).fc.weight"], digest: head == "head3" ? head3FC : "w")
            g.share(["\(head).out.weight"], digest: head == "head3" ? head3Out : "o")
        }
        g.layer("t", "trunk", ["x"])
        for head in ["head1", "head2", "head3"] {
            g.layer("\(head)-h", "\(head).fc", ["t"])
            g.layer("\(head)-o", "\(head).out", ["\(head)-h"])
        }
        g.op("y", "cat", in: "", ["head1-o", "head2-o", "head3-o"])
        g.outputs("y")
        return try Analyzer.analyze(g.graph, branches: ["head1", "head2", "head3"])
    }

    @Test func theVerdictNamesEachCopiedBranchOnce() throws {
        // head3 copies the others' `fc` only: two findings that overlap, every branch named once: "they".
        let overlapping = try threeHeadsReport(head3FC: "w", head3Out: "p")
        #expect(overlapping.findings.compactMap(\.equalCopies).map(\.branches) == [["head1", "head2", "head3"], ["head1", "head2"]])
        #expect(TextReporter.verdict(overlapping).hasSuffix("— independent; they start as equal copies and train apart"))
        // head3 copies nothing: the two that do are named.
        let two = try threeHeadsReport(head3FC: "q", head3Out: "p")
        #expect(TextReporter.verdict(two).hasSuffix("— independent; head1, head2 start as equal copies and train apart"))
    }

    @Test func sharedStorageIsNotACopy() {
        let graph = twoHeads(prepare: { $0.share(["head1.fc.weight", "head2.fc.weight"], digest: "w") })
        #expect(check(EqualCopiesRule(), graph).isEmpty)
    }

    // MARK: shared-initializer and merged-branch (inputs that know tensors by name)

    func namesOnly(head2Reads: String, head2Module: String = "head2.fc") -> Graph {
        var g = SmallGraph(inputs: ["x"], mode: .eval)
        g.layer("t", "trunk", ["x"])
        g.layer("a", "head1.fc", ["t"])
        g.op("b", "linear", in: head2Module, ["t"], weights: [head2Reads])
        g.op("y", "cat", in: "", ["a", "b"])
        g.outputs("y")
        var graph = g.graph
        graph.storageIdentity = .name
        return graph
    }

    @Test func oneInitializerReadByTwoHeadsCannotBeToldApart() throws {
        let found = check(SharedInitializerRule(), namesOnly(head2Reads: "head1.fc.weight"))
        let evidence = try #require(found.first?.sharedInitializer)
        #expect(found[0].undecidable && found[0].severity == .warning)
        #expect(evidence.initializers.map(\.name) == ["head1.fc.weight"])
        #expect(evidence.byModule.map(\.path) == ["head1.fc"])
        #expect(check(SharedStorageRule(), namesOnly(head2Reads: "head1.fc.weight")).isEmpty, "names are not storage")
    }

    /// ONNX exporters drop `.detach()`: a head reading another's output there may or may not take gradients
    /// across, so the data edge is a warning without a verdict, never an error.
    @Test func aDataEdgeInAnInputWithoutDetachIsUndecided() throws {
        // head2 reads cat(t, a) (written in the model's forward, as exporters keep it).
        var graph = twoHeads(head2: { g in
            g.op("m", "cat", in: "", ["t", "a"])
            g.layer("b", "head2.fc", ["m"])
        })
        graph.storageIdentity = .name
        let cross = try #require(check(CrossBranchDependencyRule(), graph).first)
        #expect(cross.severity == .warning && cross.undecidable && cross.crossBranchDependency?.detachUnknown == true)
        let leak = try #require(check(GradientLeakRule(), graph).first)
        #expect(leak.severity == .warning && leak.undecidable && leak.gradientLeak?.detachUnknown == true)
        #expect(check(CrossBranchDependencyRule(), leaking()).first?.undecidable == false, "a trace shows detach: an error")
    }

    @Test func separateInitializersAreFine() {
        #expect(check(SharedInitializerRule(), namesOnly(head2Reads: "head2.fc.weight")).isEmpty)
    }

    @Test func initializersOfAModuleWithoutOpsReadByAnotherWereMerged() throws {
        let graph = namesOnly(head2Reads: "head2.fc.weight", head2Module: "head1.fc")
        let merged = try #require(check(MergedBranchRule(), graph).first?.mergedBranch)
        #expect([merged.idle, merged.busy] == ["head2", "head1"])
        #expect(merged.initializers.map(\.name) == ["head2.fc.weight"])
        #expect(check(MergedBranchRule(), namesOnly(head2Reads: "head2.fc.weight")).isEmpty)
    }
}
