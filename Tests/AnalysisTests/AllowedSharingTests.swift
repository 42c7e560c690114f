@testable import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport
import FormatSupport

/// `--allow-shared`: declared sharing is reported as info and does not make the branches dependent.
@Suite struct AllowedSharingTests {
    @Test(arguments: [
        ("branch*.denseblock4", "branch3.denseblock4", true), ("heads.?.fc", "heads.1.fc", true), ("a*b", "axxb", true),
        ("heads.?.fc", "heads.10.fc", false), ("enc", "encoder", false), ("*", "", true),
    ])
    func globMatching(pattern: String, text: String, matches: Bool) {
        #expect(glob(pattern, text) == matches)
    }

    @Test func declaredSharingIsInfoAndTheVerdictIndependent() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let report = try Analyzer.analyze(graph, allowShared: ["branch*.denseblock4", "branch1.norm5.*"])
        #expect(report.independent == true)
        #expect(report.findings.map(\.severity) == [.info, .info])
        #expect(report.findings.map(\.rule) == ["shared-storage", "gradient-leak"])
        #expect(report.findings[0].sharedStorage?.declared == true && report.findings[1].gradientLeak?.declared == true)
        #expect(TextReporter.verdict(report).hasSuffix("independent apart from declared sharing (2 info findings)"))
    }

    @Test func partlyDeclaredSharingLeavesTheRestAnError() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let report = try Analyzer.analyze(graph, allowShared: ["branch1.norm5"])
        #expect(report.independent == false)
        let shared = report.findings.filter { $0.rule == "shared-storage" }
        #expect(shared.map(\.severity) == [.error, .info])
        #expect(shared.compactMap { $0.sharedStorage?.storages.count } == [192, 5])
        #expect(shared.compactMap { $0.sharedStorage?.declared } == [false, true])
    }

    @Test func aPatternThatMatchesNothingIsAnError() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let error = #expect(throws: InputError.self) { try Analyzer.analyze(graph, allowShared: ["branch9"]) }
        #expect(error?.location == "--allow-shared 'branch9'")
    }
}
