import FormatSupport

/// The machine-readable report: `{"independent", "branches", "findings": [...]}` with keys in a fixed
/// order so the same input always gives the same bytes.
public enum JSONReporter {
    public static func render(_ report: Report) -> String {
        let independent = report.independent.map { $0 ? "true" : "false" } ?? "null"
        var out = "{\n"
        out += "  \"model\": \(JSONWriter.quoted(report.model)),\n"
        out += "  \"independent\": \(independent),\n"
        out += "  \"branches\": \(JSONWriter.stringArray(report.branches)),\n"
        out += "  \"branches_discovered\": \(report.branchesDiscovered),\n"
        if report.findings.isEmpty {
            out += "  \"findings\": []\n"
        } else {
            out += "  \"findings\": [\n" + report.findings.map(finding).joined(separator: ",\n") + "\n  ]\n"
        }
        return out + "}\n"
    }

    private static func finding(_ f: Finding) -> String {
        var fields = [
            "\"rule\": \(JSONWriter.quoted(f.rule))",
            "\"severity\": \"\(f.severity.rawValue)\"",
            "\"message\": \(JSONWriter.quoted(f.message))",
            "\"branches\": \(JSONWriter.stringArray(f.branches))",
            "\"modules\": \(JSONWriter.stringArray(f.modules))",
            "\"storages\": \(f.storages)",
            "\"edges\": \(f.edges)",
            "\"details\": \(JSONWriter.stringArray(f.details))",
            "\"notes\": \(JSONWriter.stringArray(f.notes))",
        ]
        if let help = f.help { fields.append("\"help\": \(JSONWriter.quoted(help))") }
        if f.undecidable { fields.append("\"undecidable\": true") }
        return "    {\n      " + fields.joined(separator: ",\n      ") + "\n    }"
    }
}
