@testable import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport
import FormatSupport
import TraceFormat

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

    /// A module called twice that nobody declared (one classifier applied to two features before the heads)
    /// is printed as the info it is; the verdict does not call it declared sharing.
    @Test func anUndeclaredReuseIsNotCalledDeclared() throws {
        var g = SmallGraph(inputs: ["x"])
        g.layer("a", "trunk.proj", ["x"])
        g.op("b", "linear", in: "trunk.proj", ["a"], weights: ["trunk.proj.weight"])
        g.layer("h1", "head1", ["b"])
        g.layer("h2", "head2", ["b"])
        g.outputs("h1", "h2")
        let report = try Analyzer.analyze(g.graph, branches: ["head1", "head2"])
        #expect(report.findings.map(\.rule) == ["module-reuse"])
        #expect(TextReporter.verdict(report).hasSuffix("— independent"))
        let declared = try Analyzer.analyze(g.graph, branches: ["head1", "head2"], allowShared: ["trunk.proj"])
        #expect(TextReporter.verdict(declared).hasSuffix("independent apart from declared sharing (1 info finding)"))
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

    /// Ties the model itself declares (a trace's `"declared": true`, from Hugging Face's `_tied_weights_keys`) are
    /// intended as `--allow-shared` ones are; the rest of the sharing stays an error.
    @Test func tiesTheModelDeclaresAreDeclaredSharing() throws {
        let sample = try Repository.load("samples/densenet121_multihead.json").graph
        #expect(try Analyzer.analyze(sample).independent == false)
        // The sample as a trace whose norm5 storages the model declares tied.
        var text = TraceWriter.write(sample, producer: "test")
        for storage in sample.storages where storage.names.contains(where: { $0.hasPrefix("branch1.norm5.") }) {
            let entry = "{\"id\": \"\(storage.id)\", "
            text = text.replacingOccurrences(of: entry, with: entry + "\"declared\": true, ")
        }
        let graph = try TraceReader.read(Array(text.utf8))
        #expect(graph.storages.filter(\.declared).count == 5)
        let shared = try Analyzer.analyze(graph).findings.filter { $0.rule == "shared-storage" }
        #expect(shared.compactMap { $0.sharedStorage?.declared } == [false, true])
        #expect(shared[1].wording.notes.contains { $0.contains("by the model itself") })
    }

    @Test func aPatternThatMatchesNothingIsAnError() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let error = #expect(throws: InputError.self) { try Analyzer.analyze(graph, allowShared: ["branch9"]) }
        #expect(error?.location == "--allow-shared 'branch9'")
    }
}
