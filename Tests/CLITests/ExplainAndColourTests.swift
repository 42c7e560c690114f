import Analysis
import Foundation
import Testing
import TestSupport

/// `graphcheck explain` is read in a terminal: plain text with the PyTorch example first; a mistyped rule
/// gets the closest ids; colour only where a person looks.
@Suite struct ExplainAndColourTests {
    @Test func explainPrintsAPageForATerminal() throws {
        let result = try GraphCheckBinary.run(["explain", "shared-storage"])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("```") && !result.stdout.contains("<!--") && !result.stdout.contains("##"))
        #expect(!result.stdout.contains("\u{1B}["), "a pipe gets no colour")
        let pytorch = try #require(result.stdout.range(of: "self.head2 = head  # the same module object under a second name"))
        let spec = try #require(result.stdout.range(of: "\"format\": \"graphcheck.model\""))
        #expect(pytorch.lowerBound < spec.lowerBound, "the PyTorch example comes first, the model spec beside it")
        #expect(result.stdout.contains("$ python -m graphcheck_torch example:Model --input 2x8 -o model.json"))
        // Prose is wrapped for a terminal; code is not.
        for line in result.stdout.split(separator: "\n") where !line.hasPrefix("      ") { #expect(line.count <= 100, "\(line)") }
    }

    @Test func markdownIsTheDocsPage() throws {
        let result = try GraphCheckBinary.run(["explain", "inplace-hazard", "--format", "markdown"])
        let committed = try String(contentsOfFile: Repository.path("docs/rules/inplace-hazard.md"), encoding: .utf8)
        #expect(result.stdout == committed)
    }

    @Test(arguments: [
        ("shared-stroage", "did you mean shared-storage?"),
        ("shared", "did you mean shared-storage or shared-initializer?"),
        ("inplace", "did you mean inplace-hazard?"),
    ])
    func aMistypedRuleGetsTheClosestIds(typed: String, hint: String) throws {
        let result = try GraphCheckBinary.run(["explain", typed])
        #expect(result.status == 2)
        #expect(result.stderr.contains("rule '\(typed)': no such rule; \(hint)"), "\(result.stderr)")
    }

    @Test func nothingCloseGetsNoGuess() throws {
        let result = try GraphCheckBinary.run(["explain", "xyzzy"])
        #expect(result.stderr.contains("no such rule (`graphcheck rules` lists them)"))
    }

    /// Coloured and plain reports say the same words; only escape sequences differ.
    @Test func colourChangesNoWord() throws {
        let report = try Analyzer.analyze(try Repository.load("samples/densenet121_multihead.json").graph)
        let plain = TextReporter.render(report)
        let coloured = TextReporter.render(report, style: TerminalStyle(enabled: true))
        #expect(coloured.contains("\u{1B}[1;31merror[shared-storage]\u{1B}[0m: "))
        #expect(coloured.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression) == plain)
        #expect(!plain.contains("\u{1B}"))
    }
}
