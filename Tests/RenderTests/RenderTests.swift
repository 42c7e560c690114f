import Foundation
import Analysis
import GraphCheck
import GraphIR
@testable import Render
import Testing
import TestSupport

@Suite struct RenderTests {
    func sample(_ name: String) throws -> (Graph, Report) {
        let graph = try Repository.load("samples/\(name)").graph
        return (graph, try Analyzer.analyze(graph))
    }

    @Test func seedDefaultDepthShowsTheBranchesSharingAndRedEdges() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        let output = try Renderer.render(graph, report: report, options: RenderOptions(), format: .svg)
        #expect(output.view.depth == 2)
        let svg = SVGInspector(output.bytes)
        #expect(svg.error == nil)
        #expect(svg.groupClasses["cluster"] ?? 0 >= 7, "trunk, five branches, legend")
        for i in 1...5 { #expect(svg.text.contains("Sequential[branch\(i)]")) }
        #expect(svg.text.contains("_DenseBlock[denseblock4]"))
        #expect(svg.text.contains("NOT independent: 3 errors"))
        #expect(svg.text.contains("shared: branch1.denseblock4 ≡ branch2.denseblock4"))
        #expect(svg.text.contains("running_mean"), "BatchNorm statistics of norm5 are drawn")
        #expect(svg.strokes.filter { $0 == "#d62728" }.count >= 4, "red cross-branch edges into branches 2–5")
    }

    @Test func fixedSampleHasNoRedAndNoLegend() throws {
        let (graph, report) = try sample("densenet121_multihead_fixed.json")
        let output = try Renderer.render(graph, report: report, options: RenderOptions(), format: .svg)
        let svg = SVGInspector(output.bytes)
        #expect(svg.error == nil)
        #expect(!svg.strokes.contains("#d62728"))
        #expect(!svg.text.contains("legend"))
        #expect(svg.text.contains("— independent"))
    }

    /// Every op at `depth`, never focus mode.
    func everything(_ depth: RenderOptions.Depth) -> RenderOptions {
        var options = RenderOptions(depth: depth)
        options.focus = false
        return options
    }

    @Test func fullDepthDrawsEveryOp() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        let view = ViewBuilder.build(graph, report: report, options: everything(.full))
        #expect(view.depth == nil)
        #expect(view.opNodes == graph.nodes.count)
        #expect(view.nodes.filter { $0.kind == .storage }.count == 197, "the shared tensors, each drawn once in branch1")
        let collapsed = ViewBuilder.build(graph, report: report, options: RenderOptions(depth: .level(1)))
        #expect(collapsed.nodes.contains { $0.kind == .box && $0.lines[0] == "Sequential[trunk]" })
    }

    /// The seed's heads run their ReLU, pooling, flatten and classifier in the model's own forward: each is
    /// drawn in its branch's cluster (labelled with its own module), in branch order; the final `cat`,
    /// where the branches meet, stays outside every branch.
    @Test func aHeadsOpsWrittenInTheParentsForwardAreDrawnInItsCluster() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        let view = ViewBuilder.build(graph, report: report, options: RenderOptions())
        func cluster(_ label: String) -> ViewGraph.Cluster? { view.clusters.first { $0.label == label } }
        for i in 1...5 {
            let ops = (cluster("Sequential[branch\(i)]")?.nodes ?? []).map { view.nodes[$0].lines }
            #expect(ops.contains(["relu_"]) && ops.contains(["adaptive_avg_pool2d"]), "branch\(i)'s own ops")
            #expect(ops.contains(["linear", "Linear[classifier\(i)]"]), "its classifier, named by its module")
        }
        #expect(view.rootNodes.contains { view.nodes[$0].lines == ["cat"] }, "where the branches meet stays outside")
        let order = view.edges.filter { $0.kind == .order }
        #expect(order.count == 4)
        #expect(DOTEncoder.encode(view).contains("[style=invis, constraint=false]"))
        let plain = ViewBuilder.build(graph, report: nil, options: RenderOptions())
        #expect(!plain.edges.contains { $0.kind == .order }, "without an analysis there are no branches to order")
    }

    /// A multi-gate mixture's task is its gate and its tower, drawn in one cluster: the op of the part whose
    /// cluster it is not names its module from where the two part (`Module[towers]/Module[0]`), not as a
    /// `Module[0]` that would read as a layer of the cluster's own module.
    @Test func anOpDrawnInAnotherPartsClusterNamesItsModuleFromWhereTheyPart() throws {
        let graph = SmallGraph.multiGate()
        let view = ViewBuilder.build(graph, report: try Analyzer.analyze(graph), options: RenderOptions())
        for i in 0..<2 {
            let cluster = try #require(view.clusters.first { $0.label == "Module[\(i)]" && $0.nodes.count >= 2 })
            let lines = cluster.nodes.map { view.nodes[$0].lines }
            #expect(lines.contains(["linear", "Module[towers]/Module[\(i)]"]), "\(lines)")
        }
    }

    /// `--depth full` on the seed asks for 1,105 nodes, beyond the automatic budget: the branches the
    /// findings involve open to every op, the innocent trunk stays at the automatic depth (focus mode).
    @Test func aDeepRequestOpensOnlyWhatFindingsInvolve() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        let focused = ViewBuilder.build(graph, report: report, options: RenderOptions(depth: .full))
        #expect(focused.focus == ["branch1", "branch2", "branch3", "branch4", "branch5"])
        #expect(focused.depth == 2 && focused.focusDepth == nil)
        #expect(focused.nodes.contains { $0.kind == .box && $0.lines[0] == "_DenseBlock[denseblock3]" }, "the trunk stays closed")
        #expect(!focused.nodes.contains { $0.kind == .box && $0.lines[0].hasPrefix("_DenseBlock[denseblock4]") }, "the branches are open")
        #expect(focused.opNodes > 5 * 100)

        var everything = RenderOptions(depth: .full)
        everything.focus = false
        #expect(ViewBuilder.build(graph, report: report, options: everything).opNodes == graph.nodes.count)
        // Nothing to focus on: a model without findings is drawn at the depth asked for.
        let (fixed, fixedReport) = try sample("densenet121_multihead_fixed.json")
        let plain = ViewBuilder.build(fixed, report: fixedReport, options: RenderOptions(depth: .full))
        #expect(plain.focus.isEmpty && plain.opNodes == fixed.nodes.count)
        // Within the budget, the depth asked for is drawn as asked.
        #expect(ViewBuilder.build(graph, report: report, options: RenderOptions(depth: .level(1))).focus.isEmpty)
    }

    /// The seed at full depth spans thousands of ranks (each dense layer reads every earlier output): the
    /// edges other paths imply are left out of dot's layout and added back as arcs, so every edge is still
    /// in the SVG, with its tooltip. A small model is laid out as it is.
    @Test(arguments: [false, true]) func denseViewsAreLaidOutWithoutTheirImpliedEdges(fallback: Bool) throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        let view = ViewBuilder.build(graph, report: report, options: everything(.full))
        let implied = ImpliedEdges.choose(view)
        #expect(implied.count > 1000)
        #expect(implied.allSatisfy { view.edges[$0].kind != .layout && view.edges[$0].kind != .order })
        let svg = try GraphvizRenderer.render(dot: DOTEncoder.encode(view, omitting: implied), format: .svg, completing: { plain throws(RenderError) in
            try ImpliedEdges.statements(view, implied, plain: plain)
        }, forcePluginFallback: fallback)
        let inspector = SVGInspector(svg)
        #expect(inspector.error == nil)
        let visible = view.edges.filter { $0.kind != .layout && $0.kind != .order }.count
        #expect(inspector.groupClasses["edge"] == visible, "every edge drawn, the implied ones as arcs")
        let (small, smallReport) = try sample("resnet18_heads.json")
        #expect(ImpliedEdges.choose(ViewBuilder.build(small, report: smallReport, options: everything(.full))).isEmpty)
    }

    /// TorchScript records `x.view(x.size(0), -1)` as `size → num_to_tensor → int → view`: the first three
    /// only compute a shape, and are folded away, said in the legend. Ops that compute with values stay.
    @Test func shapeArithmeticIsFoldedAway() throws {
        var g = SmallGraph(inputs: ["x"])
        g.op("n", "size", in: "", ["x"], shape: [])
        g.op("t", "num_to_tensor", in: "", ["n"], shape: [])
        g.op("i", "int", in: "", ["t"], shape: [])
        g.op("v", "view", in: "", ["x", "i"])
        g.op("m", "mean", in: "", ["v"], shape: [])
        g.op("y", "relu", in: "", ["m"], shape: [])
        g.outputs("y")
        let view = ViewBuilder.build(g.graph, report: nil, options: RenderOptions(depth: .full))
        #expect(view.nodes.filter { $0.kind == .op }.map(\.lines[0]) == ["view", "mean", "relu"], "a scalar from data is data")
        #expect(view.foldedShapeOps == 3)
        #expect(view.legend.contains { $0.text.contains("3 ops that only compute with shapes") })
        let tensorboard = try Repository.load("Tests/Fixtures/torch/tensorboard/densenet121_multihead").graph
        let drawn = ViewBuilder.build(tensorboard, report: nil, options: RenderOptions(depth: .full))
        #expect(drawn.foldedShapeOps == 15, "size → num_to_tensor → int in each of the five heads")
        #expect(!drawn.nodes.contains { ["size", "num_to_tensor", "int"].contains($0.lines[0]) })
    }

    /// An ONNX picture's title stands on its own: it names the warning the verdict rests on.
    @Test func anUndecidedTitleNamesItsReason() throws {
        let graph = try Repository.load("Tests/Fixtures/torch/onnx/densenet121_multihead.torchscript.onnx").graph
        let report = try Analyzer.analyze(graph)
        let title = ViewBuilder.build(graph, report: report, options: RenderOptions()).title ?? ""
        #expect(title.contains("cannot decide from this input"))
        #expect(!title.contains("see above"))
        #expect(title.contains(report.findings.first(where: \.undecidable)!.message))
    }

    /// The exporter records BatchNorm's `num_batches_tracked += 1` as its own op, with no tensor in or
    /// out. Left free, dot put all 253 of them in the inputs' rank and took 135 s instead of 6 for the
    /// seed at full depth; each is tied to its module's next op by an invisible edge.
    @Test func opsOutsideTheDataFlowAreTiedToTheirModule() throws {
        let graph = try Repository.load("Tests/Fixtures/torch/densenet121_multihead.trace.json").graph
        let view = ViewBuilder.build(graph, report: try Analyzer.analyze(graph), options: everything(.full))
        let layout = view.edges.filter { $0.kind == .layout }
        let stateUpdates = graph.nodes.filter { $0.op == "add" && $0.valueInputs.isEmpty }
        #expect(stateUpdates.count == 253)
        #expect(layout.count == stateUpdates.count)
        #expect(layout.allSatisfy { view.nodes[$0.from].kind == .op && view.nodes[$0.to].kind == .op })
        #expect(DOTEncoder.encode(view).contains("[style=invis]"))
        let spec = try sample("densenet121_multihead.json")
        #expect(!ViewBuilder.build(spec.0, report: spec.1, options: everything(.full)).edges.contains { $0.kind == .layout })
    }

    /// Graphviz is never handed more than the layout limit: a deeper request is collapsed, and said so.
    @Test func aDepthBeyondTheLayoutLimitIsCollapsed() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        var options = everything(.full)
        options.nodeLimit = 500
        let view = ViewBuilder.build(graph, report: report, options: options)
        #expect(view.depth != nil, "collapsed to some module depth")
        #expect(view.nodes.count <= 500)
        #expect(view.collapsedFrom ?? 0 > 1000, "the full view would have every op")

        options.nodeLimit = 5000
        let full = ViewBuilder.build(graph, report: report, options: options)
        #expect(full.depth == nil && full.collapsedFrom == nil)
    }

    @Test func aViewTooLargeEvenCollapsedIsRefusedNotLaidOut() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        var options = RenderOptions(depth: .level(1))
        options.nodeLimit = 5
        #expect(throws: RenderError.self) { try Renderer.render(graph, report: report, options: options, format: .svg) }
        #expect(try Renderer.render(graph, report: report, options: options, format: .dot).bytes.count > 0)
    }

    @Test func parametersOption() throws {
        let (graph, report) = try sample("densenet121_multihead_fixed.json")
        let none = ViewBuilder.build(graph, report: report, options: RenderOptions(depth: .full, parameters: .none))
        let all = ViewBuilder.build(graph, report: report, options: RenderOptions(depth: .full, parameters: .all))
        #expect(none.nodes.filter { $0.kind == .storage }.isEmpty)
        #expect(all.nodes.filter { $0.kind == .storage }.count == graph.storages.count)
        // The automatic depth does not depend on which parameters are drawn (with all of the seed's 1,164
        // drawn, it used to fall from 2 to 1).
        let (seed, seedReport) = try sample("densenet121_multihead.json")
        let depths = RenderOptions.Parameters.allCases.map { ViewBuilder.build(seed, report: seedReport, options: RenderOptions(parameters: $0)).depth }
        #expect(depths == [2, 2, 2])
    }

    @Test func noFindingsDrawsThePlainGraph() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        let view = ViewBuilder.build(graph, report: report, options: RenderOptions(showFindings: false))
        #expect(view.title == nil)
        #expect(view.nodes.allSatisfy { $0.fill == nil })
        #expect(view.legend.isEmpty, "no groups, no red edges, no parameters drawn")
        #expect(!view.edges.contains { $0.kind == .crossBranch })
    }

    @Test(arguments: [Renderer.Format.png, .pdf])
    func binaryFormatsHaveTheirMagicBytes(format: Renderer.Format) throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        let bytes = try Renderer.render(graph, report: report, options: RenderOptions(), format: format).bytes
        #expect(bytes.count > 10_000)
        let magic: [UInt8] = format == .png ? [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] : Array("%PDF-".utf8)
        #expect(Array(bytes.prefix(magic.count)) == magic)
    }

    @Test func renderingIsDeterministic() throws {
        let (graph, report) = try sample("densenet121_multihead.json")
        for format in [Renderer.Format.dot, .svg] {
            let one = try Renderer.render(graph, report: report, options: RenderOptions(), format: format).bytes
            let two = try Renderer.render(graph, report: report, options: RenderOptions(), format: format).bytes
            #expect(one == two)
        }
    }

    /// Without libgvc's plugin config the dot layout is "not recognized"; the renderer loads the plugin
    /// libraries itself.
    @Test(arguments: [GraphvizRenderer.Format.svg, .png])
    func pluginFallbackRenders(format: GraphvizRenderer.Format) throws {
        let bytes = try GraphvizRenderer.render(dot: "digraph { a -> b [xlabel=\"2×3\"]; }", format: format, forcePluginFallback: true)
        #expect(bytes.count > 100)
        if format == .svg { #expect(SVGInspector(bytes).error == nil) }
    }

    @Test func graphvizErrorsBecomeRenderErrors() {
        let error = #expect(throws: RenderError.self) { try GraphvizRenderer.render(dot: "digraph { a -> ", format: .svg) }
        #expect(error?.message.contains("could not read the generated DOT") == true)
    }
}

extension RenderTests {
    /// Heads whose classifiers sit in one ModuleList (`branch1` with `fc.0`, `branch2` with `fc.1`): collapsed to
    /// depth 1, `fc` is not one box all heads enter, as if shared; each classifier is drawn in its head's cluster.
    @Test func aContainerHoldingSeveralBranchesPartsIsNotOneBox() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        for i in 1...2 {
            g.layer("a\(i)", "branch\(i).block1", ["t"])
            g.layer("b\(i)", "branch\(i).block2", ["a\(i)"])
            g.op("r\(i)", "relu", in: "fc.\(i - 1)", ["b\(i)"])
            g.layer("y\(i)", "fc.\(i - 1)", ["r\(i)"])
        }
        g.outputs("y1", "y2")
        let report = try Analyzer.analyze(g.graph)
        #expect(report.branches == ["branch1", "branch2"])
        let view = ViewBuilder.build(g.graph, report: report, options: RenderOptions(depth: .level(1)))
        let boxes = view.nodes.filter { $0.kind == .box }.map { $0.lines[0] }
        #expect(!boxes.contains { $0.hasSuffix("[fc]") || $0 == "fc" }, "boxes: \(boxes)")
        #expect(boxes.filter { $0.hasSuffix("[0]") || $0.hasSuffix("[1]") }.count == 2, "boxes: \(boxes)")
    }
}
