import Foundation
import FormatSupport
import GraphCheck
import GraphIR
import Testing
import TestSupport
import Analysis

/// The command line as users and CI jobs see it: exit codes, output, files.
@Suite struct CLITests {
    let shared = "samples/densenet121_multihead.json"
    let fixed = "samples/densenet121_multihead_fixed.json"

    @Test func sharedSampleExitsOneWithTheFindings() throws {
        let result = try GraphCheckBinary.run([shared])
        #expect(result.status == 1)
        #expect(result.stdout.contains("error[shared-storage]: branch1, branch2, branch3, branch4, branch5 share 197 tensors"))
        #expect(result.stdout.contains("error[cross-branch-dependency]"))
        #expect(result.stdout.contains("error[gradient-leak]"))
        #expect(result.stdout.hasSuffix("NOT independent: 3 errors\n"))
        #expect(result.stderr.isEmpty)
    }

    @Test func fixedSampleExitsZeroAndSaysIndependent() throws {
        let result = try GraphCheckBinary.run(["check", fixed, "--format", "json"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("\"independent\": true"))
        #expect(result.stdout.contains("\"rule\": \"equal-copies\""))
        #expect(!result.stdout.contains("\"severity\": \"error\"") && !result.stdout.contains("\"severity\": \"warning\""))
    }

    @Test func jsonReportHasTheDocumentedShape() throws {
        let result = try GraphCheckBinary.run([shared, "--format", "json"])
        #expect(result.status == 1)
        let root = try JSONParser.parse(Array(result.stdout.utf8))
        let cursor = JSONCursor(root: root, source: JSONSource(bytes: Array(result.stdout.utf8)))
        #expect(try cursor.required("independent").bool() == false)
        #expect(try cursor.required("branches").strings() == ["branch1", "branch2", "branch3", "branch4", "branch5"])
        let findings = try cursor.required("findings").elements()
        #expect(try findings.map { try $0.required("rule").string() } == ["shared-storage", "cross-branch-dependency", "gradient-leak"])
        for finding in findings {
            #expect(try finding.required("severity").string() == "error")
            _ = try finding.required("message").string()
            _ = try finding.required("modules").strings()
            #expect(try finding.required("storages").int() > 0)
            #expect(try finding.required("edges").int() > 0)
        }
    }

    @Test func sarifLocatesFindingsAtTheUsersCode() throws {
        let result = try GraphCheckBinary.run(["Tests/Fixtures/torch/densenet121_multihead.trace.json", "--format", "sarif"])
        #expect(result.status == 1)
        let bytes = Array(result.stdout.utf8)
        let root = JSONCursor(root: try JSONParser.parse(bytes), source: JSONSource(bytes: bytes))
        #expect(try root.required("version").string() == "2.1.0")
        let run = try root.required("runs").elements()[0]
        let rules = try run.required("tool").required("driver").required("rules").elements().map { try $0.required("id").string() }
        #expect(rules == RuleDocumentation.table().split(separator: "\n").map { String($0.split(separator: " ")[0]) })
        let results = try run.required("results").elements()
        #expect(results.count == 3)
        let location = try results[0].required("locations").elements()[0].required("physicalLocation")
        #expect(try location.required("artifactLocation").required("uri").string().hasSuffix("samples/densenet121_multihead.py"))
        #expect(try location.required("region").required("startLine").int() > 0)
        #expect(try results[0].required("level").string() == "error")
    }

    /// A device or pipe (`/dev/stdin`, `<(…)`) is read to its end, not by its size (0): here it is
    /// empty, which is bad input like any other.
    @Test func anEmptyStreamIsBadInputNamedByItsPath() throws {
        let result = try GraphCheckBinary.run(["check", "/dev/stdin"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("/dev/stdin"))
        #expect(result.stderr.contains("malformed JSON: unexpected end of input"))
    }

    @Test func traceRoundTripsThroughCheck() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = dir.path("shared.trace.json")
        #expect(try GraphCheckBinary.run(["trace", shared, "-o", first]).status == 0)
        // Reading the trace back and writing it again gives the same bytes.
        let second = dir.path("again.trace.json")
        #expect(try GraphCheckBinary.run(["trace", first, "-o", second]).status == 0)
        let a = try String(contentsOfFile: first, encoding: .utf8), b = try String(contentsOfFile: second, encoding: .utf8)
        #expect(a == b)
        // The report from the trace is the report from the spec (the JSON differs only in the spec lines that
        // declare the shared modules, which a trace does not carry: they point into the spec).
        let fromSpec = try GraphCheckBinary.run([shared])
        let fromTrace = try GraphCheckBinary.run([first])
        #expect(fromTrace.status == 1)
        #expect(fromTrace.stdout == fromSpec.stdout)
        #expect(dir.contents() == ["again.trace.json", "shared.trace.json"], "no temporary files left behind")
    }

    @Test func outputIsDeterministic() throws {
        let one = try GraphCheckBinary.run(["trace", shared])
        let two = try GraphCheckBinary.run(["trace", shared])
        #expect(one.status == 0)
        #expect(one.stdout == two.stdout)
        #expect(one.stdout.hasPrefix("{\n  \"format\": \"graphcheck.trace\",\n  \"version\": 1,"))
    }

    @Test func branchOptionNarrowsTheCheck() throws {
        let result = try GraphCheckBinary.run([fixed, "--branch", "branch1", "--branch", "branch2"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("2 branches (branch1, branch2) given — independent"))
    }

    @Test(arguments: [
        (["missing.json"], "graphcheck: error: missing.json: no such file"),
        (["samples"], "graphcheck: error: samples: is a directory without a TensorBoard event file"),
        (["samples/densenet121_multihead.json", "--branch", "branch9"], "graphcheck: error: samples/densenet121_multihead.json: branch 'branch9': unknown branch prefix"),
        (["samples/densenet121_multihead.json", "--format", "xml"], "The value 'xml' is invalid for '--format <format>'"),
        (["check"], "Missing expected argument '<file>'"),
        (["samples/densenet121_multihead.json", "--bogus"], "Unknown option '--bogus'"),
    ])
    func badUsageExitsTwoWithAMessage(arguments: [String], message: String) throws {
        let result = try GraphCheckBinary.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func badFilesExitTwoWithLocatedMessages() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cases: [(String, String, String)] = [
            ("malformed.json", "{\"model\": [1,\n 2,,]}", "malformed.json: line 2, column 4: malformed JSON"),
            ("empty.json", "", "empty.json: line 1, column 1: malformed JSON: unexpected end of input"),
            ("dangling.json", #"{"format": "graphcheck.trace", "version": 1, "inputs": [], "outputs": [], "values": [], "nodes": [{"id": "n0", "op": "relu", "module": "", "inputs": ["v9"], "outputs": []}]}"#,
             #"dangling.json: $.nodes[0].inputs[0] (line 1, column 151): unknown value or storage id "v9""#),
            ("order.json", #"{"format": "graphcheck.trace", "version": 1, "inputs": [], "outputs": [], "values": [{"id": "a"}, {"id": "b"}], "nodes": [{"id": "n0", "op": "relu", "module": "", "inputs": ["a"], "outputs": ["b"]}]}"#,
             "order.json: node 'n0': uses value 'a' before it is produced"),
            ("shape.json", #"{"format": "graphcheck.model", "version": 1, "model": {"type": "resnet18"}, "inputs": [{"name": "x", "shape": [1, 4, 32, 32]}]}"#,
             "shape.json: $.model (line 1, column 55): in module 'conv1' (Conv2d): expects 3 input channels (in_channels), got input [1, 4, 32, 32]"),
        ]
        for (name, text, message) in cases {
            let path = try dir.write(name, text)
            let result = try GraphCheckBinary.run([path])
            #expect(result.status == 2, "\(name)")
            #expect(result.stderr.contains(message), "\(name) stderr: \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
        }
    }

    @Test func failedTraceWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bad = try dir.write("bad.json", #"{"model": {"type": "Nope"}, "inputs": [{"name": "x", "shape": [1]}]}"#)
        let target = dir.path("out.trace.json")
        let result = try GraphCheckBinary.run(["trace", bad, "-o", target])
        #expect(result.status == 2)
        #expect(!FileManager.default.fileExists(atPath: target))
        let nowhere = try GraphCheckBinary.run(["trace", shared, "-o", dir.path("no/such/dir/out.json")])
        #expect(nowhere.status == 2)
        #expect(nowhere.stderr.contains("does not exist"))
        #expect(dir.contents() == ["bad.json"])
    }

    @Test func helpAndVersionExitZero() throws {
        let help = try GraphCheckBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE"))
        let version = try GraphCheckBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == GraphCheckVersion.current + "\n")
    }
}
