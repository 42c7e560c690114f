import FormatSupport
import GraphIR

/// SARIF 2.1.0 for code-scanning tools: one result per finding, the rules described in the tool's driver.
/// A finding is located at the first place its evidence names — the spec lines that declare shared
/// modules, or the user's lines that assigned them (`self.branch2 = …`, recorded by the exporter), else an op at the user's `file:line` (the PyTorch exporter records them) or at the input's own
/// line — its other places as related locations; without any, at the input file.
public enum SARIFReporter {
    public static func render(_ report: Report, graph: Graph, inputPath: String, toolVersion: String) -> String {
        let rules = allRules.map { type(of: $0).description }
        var sources: [String: String] = [:]
        for node in graph.nodes { if let source = node.source, sources[node.module] == nil { sources[node.module] = source } }

        var out = "{\n"
        out += "  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
        out += "  \"version\": \"2.1.0\",\n"
        out += "  \"runs\": [\n    {\n"
        out += "      \"tool\": {\"driver\": {\"name\": \"graphcheck\", \"version\": \(JSONWriter.quoted(toolVersion)), "
        out += "\"rules\": [\n"
        out += rules.map { rule in
            "        {\"id\": \(JSONWriter.quoted(rule.id)), \"shortDescription\": {\"text\": \(JSONWriter.quoted(rule.summary))}, "
                + "\"fullDescription\": {\"text\": \(JSONWriter.quoted(rule.rationale))}, \"help\": {\"text\": \(JSONWriter.quoted(rule.fix))}, "
                + "\"defaultConfiguration\": {\"level\": \"\(level(rule.severity))\"}}"
        }.joined(separator: ",\n")
        out += "\n      ]}},\n"
        out += "      \"results\": ["
        let results = report.findings.map { finding -> String in
            let ruleIndex = rules.firstIndex { $0.id == finding.rule } ?? 0
            var text = finding.message
            for detail in finding.details.prefix(8) { text += "\n  " + detail }
            if let help = finding.help { text += "\nhelp: " + help }
            // Where to look, best first: for sharing created in the input itself (a model spec's `ref`s) the
            // lines that declare the shared modules; otherwise the ops the evidence names, at the user's
            // `file:line` or the input's own line. One place per distinct line: five heads called from one
            // loop are one place in the code.
            var spots: [(location: (file: String, line: Int?), message: String)] = []
            if let declarations = finding.sharedStorage?.declarations, !declarations.isEmpty {
                spots = declarations.map { ((inputPath, $0), "declares a module of the shared group") }
            } else if let assignments = finding.sharedStorage?.assignments.compactMap(fileAndLine), !assignments.isEmpty {
                spots = assignments.map { ($0, "assigns a module of the shared group") }
            } else {
                var seen = Set<String>()
                for place in finding.places {
                    guard let spot = place.source.flatMap(fileAndLine) ?? place.line.map({ (file: inputPath, line: Optional($0)) }),
                        seen.insert("\(spot.file):\(spot.line ?? 0)").inserted
                    else { continue }
                    spots.append((spot, "\(place.op) in \(place.place)"))
                }
            }
            let location = spots.first?.location ?? finding.modules.lazy.compactMap { sources[$0] }.first.flatMap(fileAndLine)
            let logical = finding.modules.prefix(20).map { "{\"fullyQualifiedName\": \(JSONWriter.quoted($0)), \"kind\": \"module\"}" }
            let related = spots.dropFirst().prefix(20).map { (physical($0.location, fallback: inputPath), $0.message) }
            let relatedText = related.enumerated().map { i, entry in
                "{\"id\": \(i + 1), \"physicalLocation\": {\(entry.0)}, \"message\": {\"text\": \(JSONWriter.quoted(entry.1))}}"
            }
            return "\n        {\"ruleId\": \(JSONWriter.quoted(finding.rule)), \"ruleIndex\": \(ruleIndex), \"level\": \"\(level(finding.severity))\", "
                + "\"message\": {\"text\": \(JSONWriter.quoted(text))}, "
                + "\"locations\": [{\"physicalLocation\": {\(physical(location, fallback: inputPath))}"
                + (logical.isEmpty ? "" : ", \"logicalLocations\": [\(logical.joined(separator: ", "))]") + "}]"
                + (relatedText.isEmpty ? "" : ", \"relatedLocations\": [\(relatedText.joined(separator: ", "))]") + "}"
        }
        out += results.joined(separator: ",")
        out += results.isEmpty ? "]\n" : "\n      ]\n"
        out += "    }\n  ]\n}\n"
        return out
    }

    private static func physical(_ location: (file: String, line: Int?)?, fallback: String) -> String {
        var text = "\"artifactLocation\": {\"uri\": \(JSONWriter.quoted(location?.file ?? fallback))}"
        if let line = location?.line { text += ", \"region\": {\"startLine\": \(line)}" }
        return text
    }

    static func level(_ severity: Severity) -> String {
        switch severity {
        case .error: return "error"
        case .warning: return "warning"
        case .info: return "note"
        }
    }

    /// `path/to/file.py:42` → (`path/to/file.py`, 42).
    static func fileAndLine(_ source: String) -> (file: String, line: Int?)? {
        guard let colon = source.lastIndex(of: ":"), let line = Int(source[source.index(after: colon)...]), line > 0 else {
            return source.isEmpty ? nil : (source, nil)
        }
        return (String(source[..<colon]), line)
    }
}
