import ArgumentParser
import Foundation
import Analysis
import FormatSupport
import GraphCheck
import Render
import TraceFormat

/// `graphcheck FILE` is `graphcheck check FILE`.
struct GraphCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphcheck",
        abstract: "Find out whether the branches of a neural network that are meant to be independent really are.",
        version: GraphCheckVersion.current,
        subcommands: [Check.self, Trace.self, Render.self, View.self, Rules.self, Explain.self, Formats.self],
        defaultSubcommand: Check.self)
}

/// The options that choose what to compare, shared by `check` and `render`.
struct AnalysisOptions: ParsableArguments {
    @Option(name: .customLong("branch"), help: "A branch's module prefix (repeatable; `a,b`: one branch of several modules); default: found automatically.")
    var branches: [String] = []

    @Option(name: .customLong("allow-shared"), help: "A module path or tensor name (globs allowed) whose sharing is intended (repeatable).")
    var allowShared: [String] = []

    @Option(help: "A config file (default: .graphcheck.json beside the input, when there is one).")
    var config: String?

    /// Branches given on the command line win over the config file's (which win over the input's own).
    func branches(_ settings: Configuration) -> [String] { branches.isEmpty ? settings.branches : branches }

    /// Intended sharing from the command line and the config file both count (and the input's own).
    func allowShared(_ settings: Configuration) -> [String] { allowShared + settings.allowShared }
}

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
    case sarif
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyze a model and report what keeps its branches from being independent.",
        discussion: """
            Exit status: 0 independent (no errors), 1 error findings, 2 bad input or usage, 3 cannot decide \
            (no branches to compare, or an input that cannot show what would be needed: the report says why).
            """)

    @Argument(help: "A model spec (model.json), trace JSON, ONNX model, or TensorBoard event file or log directory.")
    var file: String

    @OptionGroup var analysis: AnalysisOptions

    @Option(help: "Report format: text, json or sarif (SARIF 2.1.0); default text, or the config file's.")
    var format: ReportFormat?

    @Flag(help: "Print how long reading and analyzing took, on standard error.")
    var timings = false

    func run() throws {
        let settings = try Configuration.load(for: file, explicit: analysis.config)
        let progress = Progress()
        defer { progress.finish() }
        let clock = ContinuousClock()
        let start = clock.now
        progress.update("reading \(file)")
        let input = try InputLoader.load(path: file)
        let loaded = clock.now
        progress.update("analyzing \(input.graph.nodes.count) ops")
        let report = try check(input, path: file, branches: analysis.branches(settings), allowShared: analysis.allowShared(settings))
        progress.finish()
        let format = self.format ?? settings.format.flatMap(ReportFormat.init(rawValue:)) ?? .text
        if timings {
            func ms(_ d: Duration) -> String { String(format: "%.1f", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
            standardError("graphcheck: read \(input.kind) \(ms(loaded - start)) ms (\(input.graph.nodes.count) ops), analyzed \(ms(clock.now - loaded)) ms")
        }
        let text: String
        switch format {
        case .text: text = TextReporter.render(report, style: .forStandardOutput)
        case .json: text = JSONReporter.render(report)
        case .sarif: text = SARIFReporter.render(report, graph: input.graph, inputPath: file, toolVersion: GraphCheckVersion.current)
        }
        try OutputFile.write(text, to: "-")
        keepUntilExit(input)
        switch report.independent {
        case false?: throw ExitCode(1)
        case nil: throw ExitCode(3)
        case true?: break
        }
    }
}

/// What the process holds until it exits: freeing a million-op graph element by element takes a few
/// hundred milliseconds that the operating system does at once (compilers skip it for the same reason).
nonisolated(unsafe) private var keptUntilExit: [Any] = []
private func keepUntilExit(_ object: Any) { keptUntilExit.append(object) }

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write any input graphcheck reads as trace JSON (a model spec is traced).")

    @Argument(help: "A model spec (model.json), trace JSON, ONNX model, or TensorBoard event file or log directory.")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the trace JSON ('-' for standard output).")
    var output: String = "-"

    func run() throws {
        let input = try InputLoader.load(path: file)
        try OutputFile.write(TraceWriter.write(input.graph, producer: GraphCheckVersion.producer), to: output)
    }
}

extension Renderer.Format: ExpressibleByArgument {}
extension RenderOptions.Parameters: ExpressibleByArgument {}

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw the graph as TensorBoard would, with the findings marked: DOT, SVG, PNG, PDF, or an interactive HTML view.")

    @Argument(help: ArgumentHelp(
        "A model spec (model.json), trace JSON, ONNX model, or TensorBoard event file or log directory; several to draw a batch.",
        discussion: "With several inputs, -o names a directory and each drawing is made by its own graphcheck process, "
            + "so a long batch does not accumulate what Graphviz leaks per layout."))
    var files: [String]

    @Option(name: .shortAndLong, help: "Output file; its extension picks the format ('-' for standard output). A directory for a batch.")
    var output: String

    @Option(help: "Output format: dot, svg, png, pdf or html (default: from the output file's extension).")
    var format: Renderer.Format?

    @Option(help: "Module depth to expand: a number, 'full' for every op, or 'auto' (default).")
    var depth: String = "auto"

    @Option(help: "Parameters and buffers to draw: none, findings (default) or all.")
    var params: RenderOptions.Parameters = .findings

    @Option(help: "The most nodes handed to Graphviz (edges: twice as many); a deeper --depth is collapsed to fit.")
    var maxNodes: Int = RenderOptions().nodeLimit

    @Flag(name: .customLong("no-findings"), help: "Draw the plain graph, without analysis.")
    var noFindings = false

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Open only the modules findings involve to --depth, the rest at the automatic depth.",
        discussion: "The default when --depth asks for more than the automatic depth allows."))
    var focus: Bool?

    @OptionGroup var analysis: AnalysisOptions

    var file: String { files[0] }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name an input to draw") }
        guard files.count == 1 || output != "-" else { throw ValidationError("a batch needs -o DIRECTORY") }
        guard depth == "auto" || depth == "full" || (Int(depth).map { $0 > 0 } ?? false) else {
            throw ValidationError("--depth must be a positive number, 'full' or 'auto'")
        }
        guard maxNodes > 0 else { throw ValidationError("--max-nodes must be positive") }
        guard files.count > 1 || format != nil || output == "-" || Renderer.Format(path: output) != nil else {
            throw ValidationError("cannot tell the format from '\(output)': use a .dot, .svg, .png, .pdf or .html name or --format")
        }
    }

    func run() throws {
        if files.count > 1 { return try runBatch() }
        let settings = try Configuration.load(for: file, explicit: analysis.config)
        let progress = Progress()
        defer { progress.finish() }
        progress.update("reading \(file)")
        let input = try InputLoader.load(path: file)
        progress.update("analyzing \(input.graph.nodes.count) ops")
        let report = noFindings
            ? nil : try check(input, path: file, branches: analysis.branches(settings), allowShared: analysis.allowShared(settings))
        let chosenDepth: RenderOptions.Depth = depth == "auto" ? .auto : depth == "full" ? .full : .level(Int(depth)!)
        var options = RenderOptions(depth: chosenDepth, parameters: params, showFindings: !noFindings)
        options.focus = focus
        options.nodeLimit = maxNodes
        options.edgeLimit = maxNodes.multipliedReportingOverflow(by: 2).overflow ? Int.max : maxNodes * 2
        progress.update("laying out with Graphviz")
        let rendered = try Renderer.render(input.graph, report: report, options: options, format: format ?? Renderer.Format(path: output) ?? .svg)
        progress.finish()
        var drawn = rendered.view.depth.map { "depth \($0)" } ?? "full depth"
        if !rendered.view.focus.isEmpty {
            drawn += " with what findings involve (\(list(rendered.view.focus))) at "
                + (rendered.view.focusDepth.map { "depth \($0)" } ?? "full depth") + (focus == nil ? "; --no-focus opens everything" : "")
        }
        if let requested = rendered.view.collapsedFrom {
            standardError("graphcheck: --depth \(depth) would hand Graphviz \(requested) nodes, more than it lays out in reasonable time "
                + "(--max-nodes \(maxNodes)); collapsed to \(drawn)")
        }
        if let modules = rendered.modules {
            standardError("graphcheck: wrote the HTML view of \(file): \(plural(modules, "module")) to open with a click, \(drawn) open at first")
        } else {
            let arcs = rendered.impliedEdges > 0
                ? "; \(plural(rendered.impliedEdges, "edge")) that other paths imply drawn as arcs after the layout" : ""
            standardError("graphcheck: drew \(file) at \(drawn) (\(rendered.view.nodes.count) nodes, \(rendered.view.edges.count) edges\(arcs))"
                + (rendered.view.depth != nil && rendered.view.collapsedFrom == nil && rendered.view.focus.isEmpty ? "; --depth full draws every op" : ""))
        }
        try OutputFile.write(Data(rendered.bytes), to: output)
    }
}

/// `graphcheck view MODEL`: the interactive HTML view, written beside the current directory's other files
/// and named after the model, with its path printed (or opened, with --open).
struct View: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the interactive HTML view of a model (modules open on a click) and print its path.")

    @Argument(help: "A model spec (model.json), trace JSON, ONNX model, or TensorBoard event file or log directory.")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the HTML (default: the input's name with .html, in the current directory).")
    var output: String?

    @Option(help: "Module depth open at first: a number, 'full' or 'auto' (default).")
    var depth: String = "auto"

    @Flag(help: "Open the page with xdg-open after writing it.")
    var open = false

    @OptionGroup var analysis: AnalysisOptions

    var path: String {
        if let output { return output }
        let name = URL(fileURLWithPath: file.hasSuffix("/") ? String(file.dropLast()) : file).lastPathComponent
        let stem = name.split(separator: ".").first.map(String.init) ?? name
        return (stem.isEmpty ? "model" : stem) + ".html"
    }

    func run() throws {
        var arguments = [file, "-o", path, "--format", "html", "--depth", depth]
        for branch in analysis.branches { arguments += ["--branch", branch] }
        for pattern in analysis.allowShared { arguments += ["--allow-shared", pattern] }
        if let config = analysis.config { arguments += ["--config", config] }
        try Render.parse(arguments).run()
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        print(absolute.absoluteString)
        guard open else { return }
        let opener = Process()
        opener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        opener.arguments = ["xdg-open", absolute.path]
        do {
            try opener.run()
        } catch {
            standardError("graphcheck: could not start xdg-open (\(error.localizedDescription)); open \(absolute.absoluteString) in a browser")
        }
    }
}

extension Render {
    /// Each input drawn by a child `graphcheck render` with the same options, one at a time.
    func runBatch() throws {
        let ext = (format ?? .svg).rawValue
        let outputs = try BatchRender.outputPaths(for: files, directory: output, extension: ext)
        var options = ["--depth", depth, "--params", params.rawValue, "--max-nodes", String(maxNodes), "--format", ext]
        if noFindings { options.append("--no-findings") }
        if let focus { options.append(focus ? "--focus" : "--no-focus") }
        for branch in analysis.branches { options += ["--branch", branch] }
        for pattern in analysis.allowShared { options += ["--allow-shared", pattern] }
        if let config = analysis.config { options += ["--config", config] }
        let failures = try BatchRender.run(files, to: outputs) { input, path in ["render", input, "-o", path] + options }
        if failures > 0 {
            standardError("graphcheck: \(failures) of \(files.count) drawings failed")
            throw ExitCode(2)
        }
    }
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the rules with their severities.")

    func run() throws {
        try OutputFile.write(RuleDocumentation.table(), to: "-")
    }
}

struct Formats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the inputs graphcheck reads, recognised by content: what each records and what it cannot show.")

    func run() throws {
        let text = Frontends.all.map { frontend in
            "\(frontend.name) (\(frontend.id))\n  records: \(frontend.shows)\n  cannot show: \(frontend.cannotShow)\n"
        }.joined(separator: "\n")
        try OutputFile.write(text, to: "-")
    }
}

enum PageFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case markdown
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a rule: what it finds, why it matters, an example in PyTorch that triggers it, and the fix.")

    @Argument(help: "A rule id, as `graphcheck rules` lists them.")
    var rule: String

    @Option(help: "text (for a terminal) or markdown (the page in docs/rules).")
    var format: PageFormat = .text

    func run() throws {
        guard let description = RuleDocumentation.description(of: rule) else {
            let close = RuleDocumentation.suggestions(for: rule)
            let hint = close.isEmpty ? "" : "; did you mean \(close.joined(separator: " or "))?"
            throw InputError(location: "rule '\(rule)'", message: "no such rule\(hint) (`graphcheck rules` lists them)")
        }
        let page = format == .markdown
            ? RuleDocumentation.markdown(description) : RuleDocumentation.text(description, style: .forStandardOutput)
        try OutputFile.write(page, to: "-")
    }
}

extension TerminalStyle {
    /// Colour when standard output is a terminal, unless `NO_COLOR` is set (no-color.org) or TERM is dumb.
    static var forStandardOutput: TerminalStyle {
        let environment = ProcessInfo.processInfo.environment
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        return TerminalStyle(enabled: isatty(STDOUT_FILENO) == 1 && !noColor && environment["TERM"] != "dumb")
    }
}
