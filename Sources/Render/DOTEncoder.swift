/// Writes a view graph as DOT text. Node and cluster ids are synthetic (`n12`, `cluster_3`); text that
/// came from the user's files — module and op names, shapes — appears only inside quoted, escaped labels.
/// Layout settings are the ones that keep dot fast on neural-net graphs: `newrank`, a bounded network
/// simplex (`nslimit`) and crossing minimisation (`mclimit`), ordinary splines, and, on large views, edge
/// labels as `xlabel`s — a plain `label` makes dot double every rank, which on DenseNet's long
/// concatenation edges multiplies the virtual nodes (measured: 255 s → 5 s for the seed model at full
/// depth). Up to `clearLabels` nodes (every automatic depth) labels are plain: dot gives each a place of
/// its own, clear of edges and cluster titles, where an `xlabel` is put wherever it lands.
public enum DOTEncoder {
    public static let maxLabelLength = 80
    public static let clearLabels = 400

    /// `omitting`: edges left out (`ImpliedEdges`), added back after the layout.
    public static func encode(_ view: ViewGraph, omitting: Set<Int> = []) -> String {
        var out = "digraph graphcheck {\n"
        var graphAttributes = [
            "rankdir=BT", "newrank=true", "nslimit=0.3", "nslimit1=0.3", "mclimit=0.5", "searchsize=30", "ranksep=0.25", "nodesep=0.18",
            "fontname=\"Helvetica\"", "bgcolor=\"white\"",
        ]
        if !view.legend.isEmpty {
            graphAttributes += ["label=\(heading(view.title ?? "", view.legend))", "labelloc=t", "labeljust=l"]
        } else if let title = view.title {
            graphAttributes += ["label=\(quoted([title], limit: 300))", "labelloc=t", "labeljust=l", "fontsize=16"]
        }
        out += "  graph [\(graphAttributes.joined(separator: ", "))];\n"
        out += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f2f2f2\", color=\"#888888\", fontname=\"Helvetica\", fontsize=10, height=0.3, margin=\"0.08,0.03\"];\n"
        out += "  edge [color=\"#666666\", fontname=\"Helvetica\", fontsize=8, fontcolor=\"#555555\", arrowsize=0.5];\n"
        for c in view.rootClusters { cluster(c, view, indent: "  ", into: &out) }
        for n in view.rootNodes { out += "  " + node(n, view) + "\n" }
        let labels: EdgeLabels = view.nodes.count <= clearLabels ? .placed : .floating
        for (index, edge) in view.edges.enumerated() where !omitting.contains(index) { out += "  " + self.edge(edge, labels) + "\n" }
        out += "}\n"
        return out
    }

    private static func cluster(_ index: Int, _ view: ViewGraph, indent: String, into out: inout String) {
        let c = view.clusters[index]
        var attributes = ["label=\(quoted(c.label))", "style=\"rounded\"", "fontsize=10", "labeljust=l"]
        if let outline = c.outline {
            attributes += ["color=\"\(outline)\"", "penwidth=3", "fontcolor=\"\(outline)\""]
        } else {
            attributes += ["color=\"#b0b0b0\""]
        }
        out += "\(indent)subgraph cluster_\(index) {\n"
        out += "\(indent)  graph [\(attributes.joined(separator: ", "))];\n"
        for child in c.children { cluster(child, view, indent: indent + "  ", into: &out) }
        for n in c.nodes { out += "\(indent)  " + node(n, view) + "\n" }
        out += "\(indent)}\n"
    }

    private static func node(_ index: Int, _ view: ViewGraph) -> String {
        let n = view.nodes[index]
        var attributes = ["label=\(quoted(n.lines))"]
        let fill: String?
        switch n.kind {
        case .op:
            fill = n.fill
        case .box:
            attributes += ["style=\"filled\""]
            fill = n.fill ?? "#e8eef7"
        case .storage:
            attributes += ["style=\"filled\"", "fontsize=7", "height=0.15", "width=0.2"]
            fill = n.fill ?? "#fafafa"
            if n.fill != nil { attributes.append("fontcolor=\"white\"") }
        case .input, .output:
            attributes += ["shape=ellipse", "style=\"filled\""]
            fill = n.fill ?? "#fff6d5"
        }
        if let fill { attributes.append("fillcolor=\"\(fill)\"") }
        if let outline = n.outline { attributes += ["color=\"\(outline)\"", "penwidth=2"] }
        if !n.tooltip.isEmpty { attributes.append("tooltip=\(quoted(n.tooltip, limit: 200))") }
        return "n\(index) [\(attributes.joined(separator: ", "))];"
    }

    enum EdgeLabels {
        /// `label`: ranked by dot like a node, clear of everything.
        case placed
        /// `xlabel`: put beside the edge after the layout, free.
        case floating
        /// In the tooltip only.
        case none
    }

    private static func edge(_ e: ViewGraph.Edge, _ labels: EdgeLabels) -> String {
        let attributes = edgeAttributes(e, labels: labels)
        return "n\(e.from) -> n\(e.to)" + (attributes.isEmpty ? ";" : " [\(attributes.joined(separator: ", "))];")
    }

    /// How an edge of this kind is drawn: colour, dash, its tooltip, its shape label as `labels` says.
    static func edgeAttributes(_ e: ViewGraph.Edge, labels: EdgeLabels) -> [String] {
        var attributes: [String] = []
        if let label = e.label {
            // A flat edge (both ends on one rank, as unranked edges often are) with a `label` trips a
            // use-after-free in Graphviz 2.43's flat_edges (Debian 12's libgvc): its count is in the tooltip.
            switch e.kind == .crossBranchState ? .none : labels {
            case .placed: attributes.append("label=\(quoted(label))")
            case .floating: attributes.append("xlabel=\(quoted(label))")
            case .none: break
            }
        }
        if !e.tooltip.isEmpty { attributes.append("tooltip=\(quoted(e.tooltip, limit: 200))") }
        switch e.kind {
        case .data: break
        case .state: attributes += ["style=dashed", "color=\"#999999\""]
        case .crossBranch:
            attributes += ["color=\"\(FindingStyle.crossBranchColour)\"", "penwidth=2.5", "fontcolor=\"\(FindingStyle.crossBranchColour)\""]
        case .crossBranchState:
            // Not ranked: a branch reading another's parameters says nothing about which runs first, and
            // ranked, these edges pull the branches together and dot reorders them (`BranchOrder`).
            attributes += ["color=\"\(FindingStyle.crossBranchColour)\"", "penwidth=2.5", "constraint=false"]
        case .layout: attributes.append("style=invis")
        case .order: attributes += ["style=invis", "constraint=false"]
        }
        return attributes
    }

    /// The title with the legend under it, as an HTML-like label: each swatch drawn as what it explains is
    /// drawn (a pale node with a coloured outline, a solid or dashed line), so the picture
    /// explains itself where it starts, and Graphviz measures the legend's text as it measures the nodes'.
    static func heading(_ title: String, _ legend: [ViewGraph.LegendEntry]) -> String {
        var rows = ""
        for entry in legend {
            let swatch: String
            switch entry.swatch {
            case .node(let fill, let outline):
                swatch = "<TD STYLE=\"rounded\" BORDER=\"2\" BGCOLOR=\"\(fill)\" COLOR=\"\(outline)\" FIXEDSIZE=\"TRUE\" WIDTH=\"26\" HEIGHT=\"14\"></TD>"
            case .none:
                swatch = "<TD></TD>"
            case .edge(let colour, let dashed):
                swatch = "<TD><FONT COLOR=\"\(colour)\" POINT-SIZE=\"12\">\(dashed ? "– – –" : "———")</FONT></TD>"
            }
            rows += "<TR>" + swatch + "<TD ALIGN=\"LEFT\"><FONT POINT-SIZE=\"10\">\(escape(entry.text, limit: 300, html: true))</FONT></TD></TR>"
        }
        // One table, the title in the text column: Graphviz spreads a table's spare width over all its
        // columns, so a title spanning the swatch column would widen it.
        return "<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"3\" CELLPADDING=\"1\">"
            + "<TR><TD></TD><TD ALIGN=\"LEFT\"><FONT POINT-SIZE=\"16\">\(escape(title, limit: 300, html: true))</FONT></TD></TR>"
            + rows + "</TABLE>>"
    }

    /// Lines joined by DOT's centred line break, each shortened to `limit` characters.
    static func quoted(_ lines: [String], limit: Int = maxLabelLength) -> String {
        "\"" + lines.map { escape($0, limit: limit) }.joined(separator: "\\n") + "\""
    }

    static func quoted(_ text: String) -> String { quoted([text]) }

    /// Escapes one line of user text for a quoted DOT label. Backslashes and quotes are escaped for DOT;
    /// `&`, `<` and `>` become entities (Graphviz keeps entities as they are in SVG, so the text shows
    /// literally and can never form markup); control characters, which XML forbids, become U+FFFD; very
    /// long names are shortened. For an HTML-like label (`html`), where backslashes are literal, a quote
    /// becomes `&quot;` instead.
    public static func escape(_ line: String, limit: Int = maxLabelLength, html: Bool = false) -> String {
        var text = line
        if text.count > limit { text = String(text.prefix(limit - 1)) + "…" }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += html ? "\\" : "\\\\"
            case "\"": out += html ? "&quot;" : "\\\""
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
