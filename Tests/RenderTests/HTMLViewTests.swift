import Foundation
import FormatSupport
import GraphCheck
import GraphIR
@testable import Render
import Testing
import TestSupport

/// The HTML view's pieces: the levels it opens, which edges Graphviz routes, the page's policy and
/// escaping. What it does in a browser is tested in integrations/browser.
@Suite struct HTMLViewTests {
    /// trunk → head1 (two ops) and head2 (one op); head1's first op reads the trunk, its second the first.
    static func twoHeads() -> Graph {
        var g = SmallGraph(inputs: ["x"])
        g.layer("t", "trunk", ["x"])
        g.layer("a1", "head1.fc1", ["t"])
        g.layer("a2", "head1.fc2", ["a1"])
        g.layer("b", "head2", ["t"])
        g.op("y", "add", in: "", ["a2", "b"])
        g.outputs("y")
        return g.graph
    }

    @Test func aModuleWithTwoOpsIsALevelAndOneWithOneOpIsItsOp() {
        let levels = ModuleLevels(Self.twoHeads())
        #expect(levels.levels.map(\.path) == ["", "head1"])
        let root = levels.levels[0]
        // The root holds the trunk's op, head1 closed, head2's op and the add, plus the input and output.
        #expect(root.items.contains(.op(0)) && root.items.contains(.level(1)) && root.items.contains(.op(3)))
        #expect(root.items.contains(.enters(0)) && root.items.contains(.leaves(5)))
        #expect(levels.chains[1] == [0, 1] && levels.chains[0] == [0])
    }

    @Test func valuesCrossingALevelBecomePorts() {
        let levels = ModuleLevels(Self.twoHeads())
        let head1 = levels.levels[1]
        func item(_ i: Int) -> ModuleLevels.Item { head1.items[i] }
        let edges = head1.edges.map { (item($0.from), item($0.to)) }
        // t enters head1 and reaches fc1; fc1 → fc2 inside; a2 leaves.
        #expect(edges.contains { $0 == (.enters(1), .op(1)) })
        #expect(edges.contains { $0 == (.op(1), .op(2)) })
        #expect(edges.contains { $0 == (.op(2), .leaves(3)) })
        // The root sees head1 as one item: the trunk's op into it, it into the add.
        let root = levels.levels[0]
        let rootEdges = root.edges.map { (root.items[$0.from], root.items[$0.to]) }
        #expect(rootEdges.contains { $0 == (.op(0), .level(1)) } && rootEdges.contains { $0 == (.level(1), .op(4)) })
    }

    @Test func edgesImpliedByAPathAreNotRoutedWhenTheySpanTooManyRanks() {
        // A dense block: every item reads every earlier one (n(n-1)/2 edges).
        let n = 40
        var edges: [(Int, Int)] = []
        for j in 1..<n { for i in 0..<j { edges.append((i, j)) } }
        let routed = LongEdges.routed(items: n, edges: edges)
        let kept = zip(edges, routed).filter(\.1).map(\.0)
        #expect(kept.count == n - 1)
        #expect(kept.allSatisfy { $0.1 == $0.0 + 1 })
    }

    @Test func shortSpansAndCyclesAreRoutedAsTheyAre() {
        // A residual block: the skip edge is implied, but spans little: Graphviz routes it.
        let residual = [(0, 1), (1, 2), (2, 3), (0, 3)]
        #expect(LongEdges.routed(items: 4, edges: residual) == [true, true, true, true])
        // A module called again after its consumer makes a cycle at its level: nothing is left out.
        var cyclic: [(Int, Int)] = [(1, 0)]
        for j in 1..<60 { for i in 0..<j { cyclic.append((i, j)) } }
        #expect(LongEdges.routed(items: 60, edges: cyclic).allSatisfy { $0 })
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.base64Digest("") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        #expect(SHA256.base64Digest("abc") == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        let long = String(repeating: "a", count: 1_000)
        #expect(SHA256.digest(Array(long.utf8)).prefix(4) == [0x41, 0xed, 0xec, 0xe4])
    }

    @Test func thePageAllowsOnlyItsOwnScriptAndStyle() throws {
        let page = try HTMLDocument.render(Self.twoHeads(), report: nil, options: RenderOptions(), openDepth: nil).html
        #expect(page.contains("default-src 'none'"))
        #expect(page.contains("script-src 'sha256-\(SHA256.base64Digest(ViewerScript.js))'"))
        #expect(page.contains("<script>\(ViewerScript.js)</script>"))
        #expect(page.contains("style-src 'sha256-\(SHA256.base64Digest(ViewerStyle.css))'"))
        // Nothing to fetch: no element with a source or a link, no stylesheet import.
        #expect(!page.contains(" src=") && !page.contains("href=") && !page.contains("@import"))
    }

    @Test func hostileNamesReachThePageOnlyAsEscapedText() throws {
        let graph = try Repository.trace(EscapingTests.hostileTrace(), name: "hostile.json").graph
        let page = try HTMLDocument.render(graph, report: nil, options: RenderOptions(), openDepth: nil).html
        // Exactly the page's own two script elements; no name opens or closes one.
        #expect(page.components(separatedBy: "<script").count == 3)
        #expect(page.components(separatedBy: "</script").count == 3)
        #expect(!page.contains("<b>evil</b>"))
        #expect(page.contains("&lt;b&gt;evil&lt;/b&gt;"), "the title is escaped")
        #expect(page.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"), "names in the data are JSON-escaped")
    }

    @Test func theSameInputGivesTheSameBytes() throws {
        let graph = try Repository.load("samples/resnet18_heads.json").graph
        let first = try HTMLDocument.render(graph, report: nil, options: RenderOptions(), openDepth: 2).html
        let second = try HTMLDocument.render(graph, report: nil, options: RenderOptions(), openDepth: 2).html
        #expect(first == second)
    }
}
