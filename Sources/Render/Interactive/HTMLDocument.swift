import Analysis
import FormatSupport
import GraphIR

/// The interactive view as one self-contained HTML file: the data as inert JSON, the viewer's own script
/// and style inline, and a Content-Security-Policy that allows exactly those two (by hash) and nothing
/// else — no request leaves the page, and markup smuggled in through a module name could not run even if
/// escaping failed.
public enum HTMLDocument {
    public struct Output: Sendable {
        public var html: String
        /// Module levels laid out, and the items in them: what the view can open.
        public var levels: Int
        public var items: Int
    }

    /// `openDepth`: module paths with fewer components start open (the static picture's depth; nil: all).
    public static func render(_ graph: Graph, report: Report?, options: RenderOptions, openDepth: Int?) throws(RenderError) -> Output {
        let data = try ViewData.json(graph, report: report, options: options, openDepth: openDepth)
        let title = report.map { TextReporter.verdict($0, standingAlone: true) } ?? graph.name
        let policy = "default-src 'none'; script-src 'sha256-\(SHA256.base64Digest(ViewerScript.js))'; "
            + "style-src 'sha256-\(SHA256.base64Digest(ViewerStyle.css))'; img-src data:; base-uri 'none'; form-action 'none'"
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        html += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(policy)\">\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        html += "<meta name=\"generator\" content=\"graphcheck\">\n"
        html += "<title>\(escape(title))</title>\n<style>\(ViewerStyle.css)</style>\n</head>\n<body>\n"
        html += "<header><h1 id=\"title\">\(escape(title))</h1>"
        html += "<input id=\"search\" type=\"search\" placeholder=\"Search modules, ops, tensors  ( / )\" aria-label=\"Search\">"
        html += "<button id=\"fit\" title=\"f\">Fit</button><button id=\"reset\" title=\"r\">Reset</button><button id=\"openall\">Open all</button></header>\n"
        html += "<main><svg id=\"canvas\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"model graph\"></svg>\n"
        html += "<aside><p class=\"keys\">Click a module to open it, its title to close it. Drag to pan, wheel to zoom; "
        html += "keys: / search, f fit, r reset, + − zoom, Esc clear.</p>"
        html += "<section id=\"findings\"></section><section id=\"details\"></section><section id=\"results\"></section></aside></main>\n"
        html += "<div id=\"tip\" hidden></div>\n"
        // JSONWriter escapes <, > and & inside strings, so the data can never close its script element.
        html += "<script type=\"application/json\" id=\"graph-data\">\(data.json)</script>\n"
        html += "<script>\(ViewerScript.js)</script>\n</body>\n</html>\n"
        return Output(html: html, levels: data.levels, items: data.items)
    }

    /// Text for HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
