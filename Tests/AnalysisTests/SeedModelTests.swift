import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// The seed: five heads made from `features[-2:]` share everything; their deep copies share nothing.
@Suite struct SeedModelTests {
    func report(_ sample: String) throws -> Report {
        try Analyzer.analyze(try Repository.load("samples/\(sample)").graph)
    }

    @Test func sharedHeadsAreNotIndependent() throws {
        let report = try report("densenet121_multihead.json")
        #expect(report.independent == false)
        #expect(report.branches == ["branch1", "branch2", "branch3", "branch4", "branch5"])
        #expect(report.findings.map(\.rule) == ["shared-storage", "cross-branch-dependency", "gradient-leak"])

        let shared = report.findings[0]
        #expect(shared.branches == report.branches)
        #expect(shared.storages == 197)
        #expect(shared.modules == (1...5).map { "branch\($0).denseblock4" } + (1...5).map { "branch\($0).norm5" })
        #expect(shared.details[0].hasPrefix("branch1.denseblock4 ≡ branch2.denseblock4 ≡ branch3.denseblock4 ≡ branch4.denseblock4 ≡ branch5.denseblock4 (_DenseBlock, one object): 96 parameters, 96 buffers"))
        #expect(shared.notes.contains { $0.contains("running_mean, running_var, num_batches_tracked") && $0.contains("33 BatchNorm modules") })
        #expect(shared.help?.contains("copy.deepcopy") == true)

        let cross = report.findings[1]
        #expect(cross.details.contains("branch2 ← branch1: 98 reads of branch1's parameters/buffers, 99 accesses to state branch1's forward wrote"))
        #expect(cross.notes.contains { $0.contains("TensorBoard") })

        let leak = report.findings[2]
        #expect(leak.storages == 98)
        #expect(leak.branches == report.branches)
    }

    @Test func copiedHeadsAreIndependent() throws {
        let report = try report("densenet121_multihead_fixed.json")
        #expect(report.branches == ["branch1", "branch2", "branch3", "branch4", "branch5"])
        #expect(report.findings.isEmpty)
        #expect(report.independent == true)
    }

    @Test func textReportSnapshot() throws {
        try assertSnapshot(TextReporter.render(try report("densenet121_multihead.json")), named: "densenet121_multihead.txt")
    }

    @Test func jsonReportSnapshot() throws {
        try assertSnapshot(JSONReporter.render(try report("densenet121_multihead.json")), named: "densenet121_multihead.report.json")
        try assertSnapshot(JSONReporter.render(try report("densenet121_multihead_fixed.json")), named: "densenet121_multihead_fixed.report.json")
    }

    @Test func givenBranchesAreUsedAndChecked() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let two = try Analyzer.analyze(graph, branches: ["branch1", "branch3"])
        #expect(two.branches == ["branch1", "branch3"])
        #expect(!two.branchesDiscovered)
        #expect(two.findings.first?.message.hasPrefix("branch1, branch3 share 197 tensors") == true)

        let error = #expect(throws: InputError.self) { try Analyzer.analyze(graph, branches: ["branch9"]) }
        #expect(error?.location == "branch 'branch9'")
        #expect(error?.message.contains("unknown branch prefix") == true)
        #expect(throws: InputError.self) { try Analyzer.analyze(graph, branches: ["branch1", "branch1"]) }
        // A prefix matches whole path components only.
        #expect(throws: InputError.self) { try Analyzer.analyze(graph, branches: ["branch"]) }
    }
}
