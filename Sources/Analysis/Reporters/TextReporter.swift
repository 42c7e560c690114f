/// Findings the way a compiler prints diagnostics: severity and rule, message, places, notes, help, then
/// a one-line verdict.
public enum TextReporter {
    public static func render(_ report: Report) -> String {
        var out = ""
        for finding in report.findings {
            out += "\(finding.severity.rawValue)[\(finding.rule)]: \(finding.message)\n"
            for detail in finding.details { out += "  --> \(detail)\n" }
            for note in finding.notes { out += "  = note: \(note)\n" }
            if let help = finding.help { out += "  = help: \(help)\n" }
            out += "\n"
        }
        out += verdict(report) + "\n"
        return out
    }

    public static func verdict(_ report: Report) -> String {
        let model = report.model.isEmpty ? "model" : report.model
        let count = report.branches.count
        let names = count == 0 ? "" : " (\(list(report.branches)))"
        let source = report.branchesDiscovered ? "found" : "given"
        switch report.independent {
        case .some(true):
            let declared = report.findings.filter { $0.severity == .info }.count
            return "\(model): \(count) branches\(names) \(source) — independent"
                + (declared > 0 ? " apart from declared sharing (\(plural(declared, "info finding")))" : "")
        case .some(false):
            let errors = report.errorCount
            return "\(model): \(count) branches\(names) \(source) — NOT independent: \(plural(errors, "error"))"
        case .none where !report.findings.filter(\.undecidable).isEmpty:
            let count = report.findings.filter(\.undecidable).count
            return "\(model): \(report.branches.count) branches\(names) \(source) — cannot decide from this input: \(plural(count, "warning")) (see above)"
        case .none:
            return "\(model): \(count == 0 ? "no branches found" : "only one branch\(names)") — nothing to decide (give branches with --branch PREFIX)"
        }
    }
}
