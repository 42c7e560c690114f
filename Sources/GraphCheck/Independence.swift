import Analysis
import FormatSupport
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
    let report = try check(try InputLoader.load(path: path), path: path, branches: branches, allowShared: allowShared)
    guard report.independent == true else { throw IndependenceFailure(report: report) }
    return report
}

/// Analyzes a loaded input: branches given here win over the input's own (a spec's `branches`); intended
/// sharing given here and declared by the input both count.
public func check(_ input: LoadedInput, path: String, branches: [String] = [], allowShared: [String] = []) throws(InputError) -> Report {
    let chosen = !branches.isEmpty ? branches : input.declaredBranches
    do {
        return try Analyzer.analyze(input.graph, branches: chosen, allowShared: allowShared + input.declaredAllowShared)
    } catch {
        throw error.inFile(path)
    }
}
