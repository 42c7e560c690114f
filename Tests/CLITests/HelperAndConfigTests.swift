import Foundation
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// `expectIndependent` for Swift tests, and `.graphcheck.json`.
@Suite struct HelperAndConfigTests {
    @Test func expectIndependentPassesForTheFixAndThrowsTheFindingsForTheBug() throws {
        let report = try expectIndependent(Repository.sample("densenet121_multihead_fixed.json"))
        #expect(report.branches.count == 5)
        let failure = #expect(throws: IndependenceFailure.self) { try expectIndependent(Repository.sample("densenet121_multihead.json")) }
        #expect(failure?.description.contains("error[shared-storage]") == true)
        #expect(failure?.description.contains("NOT independent: 3 errors") == true)
        // Declared sharing and given branches mean what they mean for assert_independent.
        try expectIndependent(Repository.sample("densenet121_multihead.json"), allowShared: ["branch*.denseblock4", "branch*.norm5"])
        let none = #expect(throws: IndependenceFailure.self) { try expectIndependent(Repository.path("Tests/Fixtures/torch/onnx/densenet121_multihead.torchscript.onnx")) }
        #expect(none?.description.contains("cannot decide") == true)
    }

    @Test func configBesideTheModelSetsBranchesAllowedSharingAndFormat() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let model = dir.path("model.json")
        try FileManager.default.copyItem(atPath: Repository.sample("densenet121_multihead.json"), toPath: model)
        _ = try dir.write(".graphcheck.json", #"{"branches": ["branch1", "branch2"], "allow_shared": ["branch*.denseblock4", "branch1.norm5"], "format": "json"}"#)
        let result = try GraphCheckBinary.run([model])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"branches\": [\"branch1\",\"branch2\"]"))
        #expect(result.stdout.contains("\"independent\": true"))
        // The command line wins.
        let text = try GraphCheckBinary.run([model, "--format", "text", "--branch", "branch3", "--branch", "branch4"])
        #expect(text.stdout.contains("2 branches (branch3, branch4) given"))
    }

    @Test func badConfigIsLocated() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try dir.write("c.json", #"{"branches": ["branch1"], "format": "yaml"}"#)
        let result = try GraphCheckBinary.run([Repository.sample("densenet121_multihead.json"), "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("c.json: $.format (line 1, column 37): format must be one of json, sarif, text"))
        let typo = try dir.write("d.json", #"{"branch": ["branch1"]}"#)
        let unknown = try GraphCheckBinary.run([Repository.sample("densenet121_multihead.json"), "--config", typo])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains(#"unknown key "branch""#))
    }
}
