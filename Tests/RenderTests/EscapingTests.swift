import Foundation
import Analysis
import GraphCheck
import GraphIR
import Render
import Testing
import TestSupport
import FormatSupport

/// Module and op names come from files we do not control. They may only ever be label text.
@Suite struct EscapingTests {
    static let hostile = [
        #"quote"d"#, #"back\slash\n"#, "new\nline", "<script>alert(1)</script>", "javascript:alert(1)", "a&b &amp; &lt;",
        "ünïcödé ✓ 模块", "]]><!--", "tab\there\u{01}ctl",
    ]

    /// A trace whose module paths, module types and op names are all hostile.
    static func hostileTrace() -> String {
        var values = [#"{"id": "v0", "shape": [1]}"#]
        var nodes: [String] = []
        for (i, name) in hostile.enumerated() {
            values.append(#"{"id": "v\#(i + 1)", "shape": [1]}"#)
            let quoted = JSONWriter.quoted(name)
            nodes.append(#"{"id": "n\#(i)", "op": \#(quoted), "module": \#(JSONWriter.quoted("m\(i)." + name)), "module_type": \#(quoted), "inputs": ["v\#(i)"], "outputs": ["v\#(i + 1)"]}"#)
        }
        return """
            {"format": "graphcheck.trace", "version": 1, "model": "<b>evil</b>", "inputs": ["v0"], "outputs": ["v\(hostile.count)"],
             "values": [\(values.joined(separator: ", "))], "nodes": [\(nodes.joined(separator: ", "))]}
            """
    }

    @Test func labelsEscapeForDOT() {
        #expect(DOTEncoder.escape(#"a"b\c"#) == #"a\"b\\c"#)
        #expect(DOTEncoder.escape("<x>&") == "&lt;x&gt;&amp;")
        #expect(DOTEncoder.escape("a\nb\u{7}") == "a\u{FFFD}b\u{FFFD}")
        #expect(DOTEncoder.escape(String(repeating: "x", count: 200)).count == DOTEncoder.maxLabelLength)
    }

    @Test func hostileNamesStayText() throws {
        let graph = try Repository.trace(Self.hostileTrace(), name: "hostile.json").graph
        for depth in [RenderOptions.Depth.full, .level(1)] {
            let output = try Renderer.render(graph, report: try Analyzer.analyze(graph), options: RenderOptions(depth: depth), format: .svg)
            let svg = SVGInspector(output.bytes)
            #expect(svg.error == nil, "SVG must stay well-formed: \(String(describing: svg.error))")
            #expect(svg.elements["script"] == nil)
            // Tooltips are <a xlink:title="…"> without a target; no attribute links anywhere (below).
            #expect(!svg.attributeNames.contains { $0.lowercased().contains("href") || $0.lowercased().hasPrefix("on") })
            #expect(svg.text.contains("<script>alert(1)</script>"), "the name is shown as text")
            #expect(svg.text.contains("ünïcödé ✓ 模块"))
            let raw = String(decoding: output.bytes, as: UTF8.self)
            #expect(!raw.contains("<script"), "no markup from names, only escaped text")
            #expect(!raw.contains("<b>"))
        }
    }

    @Test func nodeIdsAreSynthetic() throws {
        let graph = try Repository.trace(Self.hostileTrace(), name: "hostile.json").graph
        let dot = DOTEncoder.encode(ViewBuilder.build(graph, options: RenderOptions(depth: .full)))
        for line in dot.split(separator: "\n") where line.contains("->") {
            #expect(line.trimmingCharacters(in: .whitespaces).range(of: #"^n\d+ -> n\d+( \[.*\])?;$"#, options: .regularExpression) != nil, "\(line)")
        }
    }
}
