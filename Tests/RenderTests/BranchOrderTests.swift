import Foundation
import Analysis
import GraphCheck
@testable import Render
import Testing
import TestSupport

/// Branches are drawn left to right in branch order, whatever order dot's crossing minimisation picked.
@Suite struct BranchOrderTests {
    typealias Rect = BranchOrder.Rect

    /// The left edge of each cluster in an SVG, by its DOT name (`cluster_3`).
    func clusterLefts(_ bytes: [UInt8]) throws -> [String: Double] {
        let svg = String(decoding: bytes, as: UTF8.self)
        let pattern = try NSRegularExpression(pattern: #"class="cluster">\s*<title>(cluster_\d+)</title>\s*<(?:path|polygon)[^>]*?(?:points|d)="([^"]*)""#)
        var lefts: [String: Double] = [:]
        for match in pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)) {
            let name = String(svg[Range(match.range(at: 1), in: svg)!])
            let numbers = String(svg[Range(match.range(at: 2), in: svg)!])
            let xs = numbers.split(whereSeparator: { " CML".contains($0) }).compactMap { $0.split(separator: ",").first.flatMap { Double($0) } }
            lefts[name] = xs.min()
        }
        return lefts
    }

    /// The seed: dot put its branches as 4, 5, 1, 2, 3 at the default depth and 2, 1, 3, 4, 5 at depth 3.
    @Test(arguments: [RenderOptions.Depth.auto, .level(3)])
    func theSeedsBranchesAreDrawnInBranchOrder(depth: RenderOptions.Depth) throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let output = try Renderer.render(graph, report: try Analyzer.analyze(graph), options: RenderOptions(depth: depth), format: .svg)
        let names = output.view.branchBlocks.enumerated().map { k, block -> String in
            guard case .cluster(let id) = block else { return "" }
            #expect(output.view.clusters[id].label == "Sequential[branch\(k + 1)]")
            return "cluster_\(id)"
        }
        #expect(names.count == 5)
        let lefts = try clusterLefts(output.bytes)
        let xs = names.compactMap { lefts[$0] }
        #expect(xs.count == 5)
        #expect(xs == xs.sorted(), "left edges \(xs)")
    }

    // MARK: - The move itself, on layouts written by hand (points, y upward)

    /// Two side-by-side blocks, b drawn left of a, each a cluster holding one node; a trunk node below
    /// feeding both; an edge inside a (from its node to itself would be odd: to a second node of a).
    func swapped() -> BranchOrder.Layout {
        var layout = BranchOrder.Layout()
        layout.nodes = [
            "n0": Rect(x0: 90, y0: 0, x1: 130, y1: 20),  // the trunk
            "n1": Rect(x0: 160, y0: 60, x1: 200, y1: 80), "n2": Rect(x0: 160, y0: 100, x1: 200, y1: 120),  // a
            "n3": Rect(x0: 20, y0: 60, x1: 60, y1: 80),  // b
        ]
        layout.clusters = [
            "cluster_a": (Rect(x0: 150, y0: 50, x1: 210, y1: 130), "180,125"),
            "cluster_b": (Rect(x0: 10, y0: 50, x1: 70, y1: 90), nil),
        ]
        layout.members = ["cluster_a": ["n1", "n2"], "cluster_b": ["n3"]]
        layout.edges = [
            .init(tail: "n0", head: "n1", attributes: ["pos": "e,180,60 110,20 110,40 180,40 180,55", "lp": "150,40", "label": "2×8"]),
            .init(tail: "n1", head: "n2", attributes: ["pos": "e,180,100 180,80 180,90 180,90 180,95"]),
            .init(tail: "n0", head: "n3", attributes: ["pos": "e,40,60 110,20 110,40 40,40 40,55"]),
        ]
        layout.bounds = Rect(x0: 0, y0: 0, x1: 220, y1: 140)
        return layout
    }

    func value(_ edits: [BranchOrder.Edit], _ target: BranchOrder.Target, _ attribute: String) -> String? {
        edits.first { $0.target == target && $0.attribute == attribute }?.value
    }

    @Test func blocksOutOfOrderTradePlacesAndTheirEdgesFollow() {
        let edits = BranchOrder.edits(swapped(), blocks: ["cluster_a", "cluster_b"])
        // a starts where b started; b follows after the gap dot left between them (80 points).
        #expect(value(edits, .cluster("cluster_a"), "bb") == "10.00,50.00,70.00,130.00")
        #expect(value(edits, .cluster("cluster_a"), "lp") == "40.00,125")
        #expect(value(edits, .node("n1"), "pos") == "40.00,70.00")
        #expect(value(edits, .cluster("cluster_b"), "bb") == "150.00,50.00,210.00,90.00")
        #expect(value(edits, .node("n3"), "pos") == "180.00,70.00")
        // Inside a block an edge moves with it; into a block it is drawn anew, ending at its head's
        // bottom with the arrowhead (`e,`), its label beside its middle.
        #expect(value(edits, .edge(1), "pos") == "e,40.00,100 40.00,80 40.00,90 40.00,90 40.00,95")
        #expect(value(edits, .edge(0), "pos")?.hasPrefix("e,40.00,60.00 110.00,20.00") == true)
        #expect(value(edits, .edge(0), "lp") != nil)
        #expect(value(edits, .edge(2), "pos")?.hasPrefix("e,180.00,60.00 110.00,20.00") == true)
        #expect(value(edits, .node("n0"), "pos") == nil, "what is not a branch stays")
        #expect(value(edits, .graph, "bb") == nil, "the row is no wider than before")
    }

    @Test func blocksAlreadyInOrderAreLeftAsDotDrewThem() {
        #expect(BranchOrder.edits(swapped(), blocks: ["cluster_b", "cluster_a"]).isEmpty)
    }

    /// Blocks above one another (an auxiliary head early in the trunk, the main head at its end) are not
    /// a row: there is no left-to-right order to restore.
    @Test func blocksThatAreNotSideBySideAreNotMoved() {
        var layout = swapped()
        layout.clusters["cluster_b"] = (Rect(x0: 150, y0: 140, x1: 210, y1: 180), nil)
        layout.nodes["n3"] = Rect(x0: 160, y0: 150, x1: 200, y1: 170)
        #expect(BranchOrder.edits(layout, blocks: ["cluster_b", "cluster_a"]).isEmpty)
        #expect(BranchOrder.edits(layout, blocks: ["cluster_a", "cluster_b"]).isEmpty)
    }

    /// A block never covers another node: it goes past it, and the drawing grows when it must.
    @Test func aBlockIsPlacedPastWhatWouldBeCovered() {
        var layout = swapped()
        layout.nodes["n4"] = Rect(x0: 20, y0: 110, x1: 60, y1: 125)  // above b, in a's way (a is taller)
        let edits = BranchOrder.edits(layout, blocks: ["cluster_a", "cluster_b"])
        let bb = value(edits, .cluster("cluster_a"), "bb")?.split(separator: ",").compactMap { Double($0) } ?? []
        #expect(bb.count == 4 && bb[0] > 60, "a starts right of n4: \(bb)")
        #expect(value(edits, .node("n4"), "pos") == nil)
        #expect(value(edits, .graph, "bb") != nil, "b now ends beyond the old drawing")
    }

    @Test func positionsShiftEveryPointAndKeepSplinePrefixes() {
        #expect(BranchOrder.shifted("e,10,5 1.5,2 s,3,4", 10) == "e,20.00,5 11.50,2 s,13.00,4")
        #expect(BranchOrder.shifted("10,20", -2.5) == "7.50,20")
    }
}
