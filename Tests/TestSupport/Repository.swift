import Foundation
import GraphCheck
import Testing
import FormatSupport

/// Paths inside the repository, found from this file's location so tests run from any directory.
public enum Repository {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    public static func sample(_ name: String) -> String { path("samples/\(name)") }

    /// Loads a model spec or trace from the repository.
    public static func load(_ relative: String) throws -> LoadedInput {
        try InputLoader.load(path: path(relative))
    }

    /// Parses and traces an in-memory model spec, as the rule examples are written.
    public static func trace(_ spec: String, name: String = "example.json") throws -> LoadedInput {
        try InputLoader.load(bytes: Array(spec.utf8), name: name)
    }

    /// The error an in-memory spec produces, or nil when it loads.
    public static func loadError(_ spec: String, name: String = "bad.json") -> InputError? {
        do {
            _ = try InputLoader.load(bytes: Array(spec.utf8), name: name)
            return nil
        } catch {
            return error
        }
    }
}

/// Compares `text` with `Tests/Snapshots/<name>`; with RECORD_SNAPSHOTS=1 in the environment the
/// snapshot is (re)written instead and the test fails, so that a recording run is never taken for a
/// passing one; the diff is reviewed in version control.
public func assertSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = Repository.root.appendingPathComponent("Tests/Snapshots/\(name)")
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
        try Data(text.utf8).write(to: url)
        Issue.record("recorded snapshot \(name); run the tests again without RECORD_SNAPSHOTS to check it", sourceLocation: sourceLocation)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("missing snapshot \(name); run the tests with RECORD_SNAPSHOTS=1 to record it", sourceLocation: sourceLocation)
        return
    }
    if expected != text {
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let actualLines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = Array(zip(expectedLines, actualLines)).firstIndex { $0.0 != $0.1 } ?? min(expectedLines.count, actualLines.count)
        let want = line < expectedLines.count ? String(expectedLines[line]) : "<end>"
        let got = line < actualLines.count ? String(actualLines[line]) : "<end>"
        Issue.record(
            "snapshot \(name) differs at line \(line + 1):\n  expected: \(want)\n  actual:   \(got)\n(RECORD_SNAPSHOTS=1 re-records)",
            sourceLocation: sourceLocation)
    }
}
