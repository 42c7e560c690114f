/// The branches of a model were not shown independent: the report says why.
public struct IndependenceFailure: Error, CustomStringConvertible, Sendable {
    public let report: Report

    public var description: String {
        guard report.independent == false else {
            return TextReporter.verdict(report)
        }
        return TextReporter.render(Report(
            model: report.model, branches: report.branches, branchesDiscovered: report.branchesDiscovered,
            findings: report.findings.filter { $0.severity == .error }))
    }
}

/// For tests (Swift Testing or XCTest): `try expectIndependent("model.json")` throws unless the model's
/// branches are independent — with the same meaning as the pytest helper `assert_independent`: branches
/// found automatically unless given, `allowShared` declaring intended sharing, and no verdict (nothing to
/// compare, or an input that cannot tell) counting as a failure.
@discardableResult
public func expectIndependent(_ path: String, branches: [String] = [], allowShared: [String] = []) throws -> Report {
    let input = try InputLoader.load(path: path)
    let report: Report
    do {
        report = try Analyzer.analyze(input.graph, branches: branches.isEmpty ? input.declaredBranches : branches, allowShared: allowShared + input.declaredAllowShared)
    } catch {
        throw error.inFile(path)
    }
    guard report.independent == true else { throw IndependenceFailure(report: report) }
    return report
}
