/// A rule's documentation, made from its own description, so `graphcheck explain`, `docs/rules/*.md` and
/// the tested examples can never say different things.
public enum RuleDocumentation {
    public static func description(of id: String) -> RuleDescription? {
        allRules.map { type(of: $0).description }.first { $0.id == id }
    }

    /// The rule page in Markdown (docs/rules): what it does, why it matters, an example that triggers it in
    /// PyTorch with the model spec beside it, and what to do instead.
    public static func markdown(_ rule: RuleDescription) -> String {
        var out = "# \(rule.id)\n\n"
        out += "Severity: **\(rule.severity.rawValue)**\n\n"
        out += "## What it does\n\n\(rule.summary)\n\n"
        out += "## Why is this bad\n\n\(rule.rationale)\n\n"
        out += "## Example\n\nThis triggers the rule (`example.py`):\n\n```python\n\(rule.pytorch.triggering)```\n\n"
        out += "Checked with:\n\n```sh\n" + rule.pytorch.commands.joined(separator: "\n") + "\n```\n\n"
        for example in rule.triggeringExamples { out += "\(specLabel(example)):\n\n```json\n\(example)\n```\n\n" }
        out += "## Use instead\n\n\(rule.fix)\n\n"
        out += "This does not trigger it:\n\n```python\n\(rule.pytorch.nonTriggering)```\n\n"
        for example in rule.nonTriggeringExamples { out += "\(specLabel(example)):\n\n```json\n\(example)\n```\n\n" }
        out += "<!-- Generated from the rule's description in Sources/Analysis/Rules/; regenerate with scripts/generate-rule-docs.sh. -->\n"
        return out
    }

    /// The rule page for a terminal: the same sections, prose wrapped, code indented, no Markdown.
    public static func text(_ rule: RuleDescription, style: TerminalStyle = .plain, width: Int = 100) -> String {
        func prose(_ text: String) -> String { wrap(plainText(text, style), width: width - 2).map { "  " + $0 }.joined(separator: "\n") + "\n" }
        func code(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "      " + $0 }.joined(separator: "\n")
                .trimmingTrailingNewlines() + "\n"
        }
        var out = style.bold(rule.id) + " · " + style.severity(rule.severity, rule.severity.rawValue) + "\n"
        out += prose(rule.summary) + "\n"
        out += style.bold("Why is this bad") + "\n" + prose(rule.rationale) + "\n"
        out += style.bold("Example") + "\n" + prose("This triggers the rule (example.py):") + "\n" + code(rule.pytorch.triggering) + "\n"
        out += prose("Checked with:") + "\n" + code(rule.pytorch.commands.map { "$ " + $0 }.joined(separator: "\n")) + "\n"
        for example in rule.triggeringExamples { out += prose(specLabel(example) + ":") + "\n" + code(example) + "\n" }
        out += style.bold("Use instead") + "\n" + prose(rule.fix) + "\n"
        out += prose("This does not trigger it:") + "\n" + code(rule.pytorch.nonTriggering) + "\n"
        for example in rule.nonTriggeringExamples { out += prose(specLabel(example) + ":") + "\n" + code(example) + "\n" }
        return out.trimmingTrailingNewlines() + "\n"
    }

    /// Rule ids close to a mistyped one: those it is part of, else those a few edits away.
    public static func suggestions(for id: String) -> [String] {
        let ids = allRules.map { type(of: $0).description.id }
        let word = id.lowercased()
        let containing = ids.filter { !word.isEmpty && ($0.contains(word) || word.contains($0)) }
        if !containing.isEmpty { return containing }
        let scored = ids.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= max(2, word.count / 3) }
        return scored.sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// How a spec example is introduced: a model spec, the graph an ONNX file gives (a trace that knows
    /// tensors by name), or the trace graphcheck_torch writes.
    private static func specLabel(_ example: String) -> String {
        if !example.contains("graphcheck.trace") { return "The same model as a model spec (`graphcheck model.json`)" }
        return example.contains(#""storage_identity": "name""#)
            ? "As graphcheck reads it from the ONNX file (a trace that knows tensors by name)"
            : "The same model as the trace graphcheck_torch writes (`model.json`), shortened"
    }

    /// Markdown's code spans as a terminal shows them: coloured, or bare.
    private static func plainText(_ text: String, _ style: TerminalStyle) -> String {
        var out = ""
        var inCode = false
        var span = ""
        for character in text {
            if character == "`" {
                if inCode { out += style.cyan(span); span = "" }
                inCode.toggle()
            } else if inCode {
                span.append(character)
            } else {
                out.append(character)
            }
        }
        return out + span
    }

    /// Words into lines of at most `width` visible characters (escape sequences do not count).
    private static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        var visible = 0
        for word in text.split(separator: " ") {
            let length = visibleLength(word)
            if visible > 0 && visible + 1 + length > width {
                lines.append(line)
                line = ""
                visible = 0
            }
            if visible > 0 { line += " "; visible += 1 }
            line += word
            visible += length
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    private static func visibleLength(_ word: Substring) -> Int {
        var count = 0
        var escaping = false
        for character in word {
            if character == "\u{1B}" { escaping = true } else if escaping { if character == "m" { escaping = false } } else { count += 1 }
        }
        return count
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    /// `graphcheck rules`: one line per rule.
    public static func table() -> String {
        let rules = allRules.map { type(of: $0).description }
        let width = rules.map(\.id.count).max() ?? 0
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        return rules.map { "\(pad($0.id, width))  \(pad($0.severity.rawValue, 7))  \($0.summary)" }.joined(separator: "\n") + "\n"
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var copy = self
        while copy.hasSuffix("\n") { copy.removeLast() }
        return copy
    }
}
