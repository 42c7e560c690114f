import FormatSupport

/// The machine-readable report: `{"independent", "branches", "findings": [...], "ops", "tensors"}` with
/// keys in a fixed order so the same input always gives the same bytes. Each finding carries its words and
/// its evidence as data; the ops and tensors evidence refers to are described once, in two tables
/// (docs/report.schema.json).
public enum JSONReporter {
    public static func render(_ report: Report) -> String {
        let independent = report.independent.map { $0 ? "true" : "false" } ?? "null"
        var out = "{\n"
        out += "  \"model\": \(JSONWriter.quoted(report.model)),\n"
        out += "  \"independent\": \(independent),\n"
        out += "  \"branches\": \(JSONWriter.stringArray(report.branches)),\n"
        out += "  \"branches_discovered\": \(report.branchesDiscovered),\n"
        if let reason = report.undecidedReason { out += "  \"undecided_reason\": \"\(reason.rawValue)\",\n" }
        if !report.branchesNotRun.isEmpty { out += "  \"branches_not_run\": \(JSONWriter.stringArray(report.branchesNotRun)),\n" }
        if !report.modulesNotRun.isEmpty { out += "  \"modules_not_run\": \(JSONWriter.stringArray(report.modulesNotRun)),\n" }
        if !report.notRunSameObject.isEmpty {
            let pairs = report.notRunSameObject.keys.sorted().map { "\(JSONWriter.quoted($0)): \(JSONWriter.quoted(report.notRunSameObject[$0]!))" }
            out += "  \"not_run_same_object\": {\(pairs.joined(separator: ", "))},\n"
        }
        if !report.modulesUnreached.isEmpty { out += "  \"modules_unreached\": \(JSONWriter.stringArray(report.modulesUnreached)),\n" }
        out += "  \"basis\": \"\(report.basis.rawValue)\",\n"
        if let found = report.discovery { out += "  \"discovery\": \(discovery(found)),\n" }
        var evidence = EvidenceJSON()
        if report.findings.isEmpty {
            out += "  \"findings\": [],\n"
        } else {
            out += "  \"findings\": [\n" + report.findings.map { finding($0, &evidence) }.joined(separator: ",\n") + "\n  ],\n"
        }
        out += "  \"ops\": " + table(evidence.nodes.keys.sorted().map { EvidenceJSON.describe(evidence.nodes[$0]!) }) + ",\n"
        out += "  \"tensors\": " + table(evidence.storages.keys.sorted().map { EvidenceJSON.describe(evidence.storages[$0]!) }) + "\n"
        return out + "}\n"
    }

    /// How the branches were found: the level, each branch's modules, the trunk, the alternatives.
    private static func discovery(_ d: Discovery) -> String {
        let branches = d.branches.map { branch in
            let parent = d.otherLevel(of: branch.name).map { ", \"parent\": \(JSONWriter.quoted($0))" } ?? ""
            return "{\"name\": \(JSONWriter.quoted(branch.name)), \"modules\": \(JSONWriter.stringArray(branch.prefixes))\(parent)}"
        }
        return "{\"parent\": \(d.parent.map(JSONWriter.quoted) ?? "null"), \"results\": \(d.terminals), "
            + "\"branches\": [\(branches.joined(separator: ", "))], \"trunk\": \(JSONWriter.stringArray(d.trunk)), "
            + "\"alternatives\": [\(d.alternatives.map(JSONWriter.stringArray).joined(separator: ", "))]"
            + (d.paired.isEmpty ? "" : ", \"paired\": \(JSONWriter.stringArray(d.paired))")
            + (d.stages.isEmpty ? "" : ", \"stages\": \(JSONWriter.stringArray(d.stages))")
            + (d.lumped.isEmpty ? "" : ", \"lumped\": \(JSONWriter.stringArray(d.lumpedNames))")
            + (d.towerInputs.isEmpty ? "" : ", \"inputs\": [\(d.towerInputs.map(String.init).joined(separator: ", "))]")
            + (d.towerResultRead.map { read in
                ", \"tower_result_read\": {\"returned\": \(JSONWriter.stringArray(read.returned)), "
                    + "\"without\": \(JSONWriter.stringArray(read.without)), \"reader\": \(read.reader.map(JSONWriter.quoted) ?? "null"), "
                    + "\"suggested\": [\(read.suggested.map(JSONWriter.stringArray).joined(separator: ", "))]"
                    + (read.result ? "" : ", \"result\": false") + (read.bySlot ? ", \"by_slot\": true" : "") + "}"
            } ?? "")
            + (d.routed ? ", \"routed\": true" : "") + "}"
    }

    /// One entry a line.
    private static func table(_ entries: [String]) -> String {
        entries.isEmpty ? "[]" : "[\n    " + entries.joined(separator: ",\n    ") + "\n  ]"
    }

    private static func finding(_ f: Finding, _ evidence: inout EvidenceJSON) -> String {
        var fields = [
            "\"rule\": \(JSONWriter.quoted(f.rule))",
            "\"severity\": \"\(f.severity.rawValue)\"",
            "\"message\": \(JSONWriter.quoted(f.message))",
            "\"branches\": \(JSONWriter.stringArray(f.branches))",
            "\"modules\": \(JSONWriter.stringArray(f.modules))",
            "\"storages\": \(f.storages.count)",
            "\"edges\": \(f.edgeCount)",
            "\"details\": \(JSONWriter.stringArray(f.details))",
            "\"notes\": \(JSONWriter.stringArray(f.notes))",
        ]
        if let help = f.help { fields.append("\"help\": \(JSONWriter.quoted(help))") }
        if f.undecidable { fields.append("\"undecidable\": true") }
        fields.append("\"evidence\": \(evidence.render(f.evidence))")
        return "    {\n      " + fields.joined(separator: ",\n      ") + "\n    }"
    }
}
