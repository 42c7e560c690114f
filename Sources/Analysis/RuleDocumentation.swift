/// A rule's documentation, made from its own description, so `graphcheck explain`, `docs/rules/*.md` and
/// the tested examples can never say different things.
public enum RuleDocumentation {
    public static func description(of id: String) -> RuleDescription? {
        allRules.map { type(of: $0).description }.first { $0.id == id }
    }

    /// The rule page: what it does, why it matters, an example that triggers it, and what to do instead.
    public static func markdown(_ rule: RuleDescription) -> String {
        var out = "# \(rule.id)\n\n"
        out += "Severity: **\(rule.severity.rawValue)**\n\n"
        out += "## What it does\n\n\(rule.summary)\n\n"
        out += "## Why is this bad\n\n\(rule.rationale)\n\n"
        for (i, example) in rule.triggeringExamples.enumerated() {
            out += i == 0 ? "## Example\n\nThis triggers the rule:\n\n" : "\n"
            out += "```json\n\(example)\n```\n"
        }
        out += "\n## Use instead\n\n\(rule.fix)\n\n"
        for (i, example) in rule.nonTriggeringExamples.enumerated() {
            out += i == 0 ? "This does not trigger it:\n\n" : "\n"
            out += "```json\n\(example)\n```\n"
        }
        out += "\n<!-- Generated from the rule's description in Sources/Analysis/Rules/; regenerate with scripts/generate-rule-docs.sh. -->\n"
        return out
    }

    /// `graphcheck rules`: one line per rule.
    public static func table() -> String {
        let rules = allRules.map { type(of: $0).description }
        let width = rules.map(\.id.count).max() ?? 0
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        return rules.map { "\(pad($0.id, width))  \(pad($0.severity.rawValue, 7))  \($0.summary)" }.joined(separator: "\n") + "\n"
    }
}
