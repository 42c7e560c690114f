import Foundation
import GraphCheck
import GraphIR
import Testing
import TestSupport

@Suite struct RenderCommandTests {
    let shared = "samples/densenet121_multihead.json"

    @Test func rendersEachFormatByExtension() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for ext in ["dot", "svg", "png", "pdf"] {
            let result = try GraphCheckBinary.run(["render", shared, "-o", dir.path("seed.\(ext)")])
            #expect(result.status == 0, "\(ext): \(result.stderr)")
            #expect(result.stderr.contains("graphcheck: drew samples/densenet121_multihead.json at depth 2"))
        }
        #expect(dir.contents() == ["seed.dot", "seed.pdf", "seed.png", "seed.svg"])
        let dot = try String(contentsOfFile: dir.path("seed.dot"), encoding: .utf8)
        #expect(dot.hasPrefix("digraph graphcheck {"))
    }

    /// A batch draws each input in its own child process into the directory, with the same options; a bad
    /// input fails alone, and the batch exits 2.
    @Test func aBatchDrawsEachInputIntoTheDirectory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try GraphCheckBinary.run([
            "render", "samples/tied_lm.json", shared, "Tests/Fixtures/torch/tensorboard/list_heads", "-o", dir.path("out"), "--depth", "1",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("out")).sorted()
            == ["densenet121_multihead.svg", "list_heads.svg", "tied_lm.svg"])
        #expect(result.stderr.contains("graphcheck: drew samples/densenet121_multihead.json at depth 1"))

        let failing = try GraphCheckBinary.run(["render", "Tests/Fixtures/hostile/cycle.json", "samples/tied_lm.json", "-o", dir.path("bad"), "--format", "dot"])
        #expect(failing.status == 2)
        #expect(failing.stderr.contains("Tests/Fixtures/hostile/cycle.json"))
        #expect(failing.stderr.contains("1 of 2 drawings failed"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("bad")) == ["tied_lm.dot"])

        let clash = try GraphCheckBinary.run(["render", "samples/tied_lm.json", "samples/tied_lm.json", "-o", dir.path("clash")])
        #expect(clash.status == 2)
        #expect(clash.stderr.contains("would be drawn to"))
    }

    /// `render -o model.html` writes the interactive view; `view` names it after the input, prints its
    /// file:// address, and says what it wrote on stderr.
    @Test func theHTMLViewIsWrittenByRenderAndByView() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let render = try GraphCheckBinary.run(["render", shared, "-o", dir.path("seed.html")])
        #expect(render.status == 0, "\(render.stderr)")
        #expect(render.stderr.contains("wrote the HTML view of samples/densenet121_multihead.json: 139 modules to open with a click"))
        let html = try String(contentsOfFile: dir.path("seed.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("Content-Security-Policy"))

        let view = try GraphCheckBinary.run(["view", Repository.path(shared)], in: dir.url)
        #expect(view.status == 0, "\(view.stderr)")
        #expect(view.stdout.hasPrefix("file://") && view.stdout.contains("densenet121_multihead.html"))
        #expect(try String(contentsOfFile: dir.path("densenet121_multihead.html"), encoding: .utf8) == html, "the same page")
    }

    @Test func writesToStandardOutputWithAnExplicitFormat() throws {
        let result = try GraphCheckBinary.run(["render", shared, "-o", "-", "--format", "dot", "--depth", "1", "--no-findings"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("digraph graphcheck {"))
        #expect(!result.stdout.contains("#d62728"))
        #expect(result.stderr.contains("at depth 1"))
    }

    @Test(arguments: [
        (["render", "samples/densenet121_multihead.json", "-o", "seed.gif"], "cannot tell the format from 'seed.gif'"),
        (["render", "samples/densenet121_multihead.json", "-o", "x.svg", "--depth", "0"], "--depth must be a positive number"),
        (["render", "samples/densenet121_multihead.json", "-o", "x.svg", "--params", "some"], "The value 'some' is invalid for '--params"),
        (["render", "missing.json", "-o", "x.svg"], "graphcheck: error: missing.json: no such file"),
        (["render", "samples/densenet121_multihead.json", "-o", "x.svg", "--branch", "nope"], "unknown branch prefix"),
    ])
    func badRenderUsageExitsTwo(arguments: [String], message: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let args = arguments.map { $0.hasPrefix("samples/") ? Repository.path($0) : $0 }
        let result = try GraphCheckBinary.run(args, in: dir.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(dir.contents().isEmpty, "nothing written")
    }

    /// A machine where Graphviz's plugin config was never generated (`dot -c` not run) must still render,
    /// and render the same picture.
    @Test func rendersWithoutGraphvizPluginConfig() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let empty = dir.url.appendingPathComponent("no-plugins")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let fallback = try GraphCheckBinary.run(["render", shared, "-o", dir.path("fallback.svg")], environment: ["GVBINDIR": empty.path])
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(!fallback.stderr.contains("not recognized"))
        let normal = try GraphCheckBinary.run(["render", shared, "-o", dir.path("normal.svg")])
        #expect(normal.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path("fallback.svg"))) == Data(contentsOf: URL(fileURLWithPath: dir.path("normal.svg"))))
        let png = try GraphCheckBinary.run(["render", shared, "-o", dir.path("fallback.png")], environment: ["GVBINDIR": empty.path])
        #expect(png.status == 0, "\(png.stderr)")
    }
}

/// Long runs show what they are doing on a terminal, and print nothing extra elsewhere.
@Suite struct ProgressTests {
    @Test func progressOnATerminalOnly() throws {
        let arguments = ["render", "samples/densenet121_multihead.json", "-o", "/dev/null", "--format", "svg"]
        let plain = try GraphCheckBinary.run(arguments, environment: ["GRAPHCHECK_PROGRESS_DELAY": "0"])
        #expect(plain.status == 0)
        #expect(!plain.stderr.contains("\r"), "no progress when standard error is not a terminal")
        // util-linux's `script` gives the command a pseudo-terminal.
        let script = "/usr/bin/script"
        try #require(FileManager.default.isExecutableFile(atPath: script), "needs util-linux's script(1)")
        let command = (["env", "GRAPHCHECK_PROGRESS_DELAY=0", GraphCheckBinary.url().path] + arguments).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["-qec", command, "/dev/null"]
        process.currentDirectoryURL = Repository.root
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("graphcheck: reading samples/densenet121_multihead.json…"))
        #expect(text.contains("\u{1B}[K"), "the progress line is erased before the result")
    }
}
