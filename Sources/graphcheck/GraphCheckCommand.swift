import ArgumentParser
import Foundation
import GraphCheck

/// `graphcheck FILE` is `graphcheck check FILE`.
struct GraphCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphcheck",
        abstract: "Find out whether the branches of a neural network that are meant to be independent really are.",
        version: GraphCheckVersion.current,
        subcommands: [Check.self, Trace.self],
        defaultSubcommand: Check.self)
}

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyze a model spec or trace and report shared storage and cross-branch dependencies.",
        discussion: "Exit status: 0 independent (no errors), 1 error findings, 2 bad input or usage.")

    @Argument(help: "A model spec (model.json) or a trace JSON.")
    var file: String

    @Option(name: .customLong("branch"), help: "A branch's module prefix (repeatable); default: found automatically.")
    var branches: [String] = []

    @Option(help: "Report format: text or json.")
    var format: ReportFormat = .text

    func run() throws {
        let input = try InputLoader.load(path: file)
        let report: Report
        do {
            report = try Analyzer.analyze(input.graph, branches: branches.isEmpty ? input.declaredBranches : branches)
        } catch {
            throw error.inFile(file)
        }
        let text = format == .json ? JSONReporter.render(report) : TextReporter.render(report)
        try OutputFile.write(text, to: "-")
        if report.independent == false { throw ExitCode(1) }
    }
}

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trace a model spec (or re-read a trace) and write the trace JSON.")

    @Argument(help: "A model spec (model.json) or a trace JSON.")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the trace JSON ('-' for standard output).")
    var output: String = "-"

    func run() throws {
        let input = try InputLoader.load(path: file)
        try OutputFile.write(TraceWriter.write(input.graph, producer: GraphCheckVersion.producer), to: output)
    }
}
