import Analysis
import GraphCheck
import GraphIR
import Testing
import TestSupport
import FormatSupport

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

        let shared = try #require(report.findings[0].sharedStorage)
        #expect(shared.branches == report.branches)
        #expect(shared.storages.count == 197)
        #expect(shared.storages.filter { $0.kind == .parameter }.count == 98)
        // Each shared tensor goes by five names, one per branch.
        #expect(shared.storages.allSatisfy { $0.names.count == 5 })
        #expect(shared.groups.map(\.paths) == [(1...5).map { "branch\($0).denseblock4" }, (1...5).map { "branch\($0).norm5" }])
        #expect(shared.groups.map(\.type) == ["_DenseBlock", "BatchNorm2d"])
        #expect(shared.groups.allSatisfy { $0.sameObject })
        #expect(shared.groups.map { [$0.parameterCount, $0.storages.count] } == [[96, 192], [2, 5]])
        #expect(shared.runningStatistics == ["running_mean", "running_var", "num_batches_tracked"])
        #expect(shared.statisticsModules == 33)
        #expect(shared.cause == .slicedContainers(types: ["Sequential"]))
        #expect(!shared.declared)
        #expect(shared.places.map(\.module).map { $0.split(separator: ".").first.map(String.init) } == report.branches)
        // The spec's lines that create the sharing: `"branchN": {"ref": "original_model.features[-2:]"}`.
        #expect(shared.declarations == [15, 16, 17, 18, 19])

        let cross = try #require(report.findings[1].crossBranchDependency)
        let pair = try #require(cross.pairs.first { $0.target == "branch2" && $0.source == "branch1" })
        #expect([pair.data, pair.parameter, pair.state] == [0, 98, 99])
        // Parameter edges run out of branch1, whose names the shared tensors carry first; state edges out of
        // the branch whose forward last wrote the running statistics, the one before.
        #expect(cross.targets == ["branch2", "branch3", "branch4", "branch5"])
        #expect(cross.edges.filter { $0.kind == .parameter }.allSatisfy { $0.source == 0 && $0.storage != nil })
        #expect(cross.edges.filter { $0.kind == .state }.allSatisfy { $0.source == $0.target - 1 && $0.storage != nil })
        #expect(!cross.edges.contains { $0.kind == .data })

        let leak = try #require(report.findings[2].gradientLeak)
        #expect(leak.parameters.count == 98)
        #expect(leak.owners == report.branches && leak.reached == report.branches)
        #expect(leak.groups.map(\.label) == shared.groups.map(\.label))
    }

    @Test func copiedHeadsAreIndependentAndStartEqual() throws {
        let report = try report("densenet121_multihead_fixed.json")
        #expect(report.branches == ["branch1", "branch2", "branch3", "branch4", "branch5"])
        #expect(report.independent == true)
        // The user's last question: the deep copies start from equal weights (the copied slice's 32 conv
        // weights; BatchNorm's constant fills and the classifiers, each initialised on its own, are not copies).
        #expect(report.findings.count == 1)
        let copies = try #require(report.findings.first?.equalCopies)
        #expect(copies.branches == report.branches && copies.parameters == 32)
        #expect(copies.groups.map(\.paths) == [(1...5).map { "branch\($0).denseblock4" }])
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
        #expect(two.findings.first?.sharedStorage?.branches == ["branch1", "branch3"])
        #expect(two.findings.first?.sharedStorage?.storages.count == 197)

        let error = #expect(throws: InputError.self) { try Analyzer.analyze(graph, branches: ["branch9"]) }
        #expect(error?.location == "branch 'branch9'")
        #expect(error?.message.contains("unknown branch prefix") == true)
        #expect(throws: InputError.self) { try Analyzer.analyze(graph, branches: ["branch1", "branch1"]) }
        // A prefix matches whole path components only.
        #expect(throws: InputError.self) { try Analyzer.analyze(graph, branches: ["branch"]) }
    }
}
