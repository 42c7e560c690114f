// Renders one model many times in one process and prints the resident memory as it goes, to see whether
// Graphviz (libgvc) leaks per layout: a long-lived process that lays out in-process must not grow
// without bound.
//
//     swift run -c release render-soak MODEL [TIMES] [svg|png] [auto|full|DEPTH]
import Foundation
import GraphCheck
import Render

func residentMB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return -1 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
}

let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first else {
    FileHandle.standardError.write(Data("usage: render-soak MODEL [TIMES] [svg|png] [auto|full|DEPTH]\n".utf8))
    exit(2)
}
let times = arguments.dropFirst().first.flatMap(Int.init) ?? 50
let format = arguments.dropFirst(2).first.flatMap(Renderer.Format.init(rawValue:)) ?? .svg
let depth: RenderOptions.Depth = switch arguments.dropFirst(3).first {
case "full": .full
case let text?: Int(text).map { .level($0) } ?? .auto
case nil: .auto
}
do {
    let input = try InputLoader.load(path: path)
    let report = try check(input, path: path)
    for i in 1...times {
        _ = try Renderer.render(input.graph, report: report, options: RenderOptions(depth: depth), format: format)
        if i == 1 || i % max(times / 10, 1) == 0 { print("render \(i): \(residentMB()) MB resident") }
    }
} catch {
    FileHandle.standardError.write(Data("render-soak: \(error)\n".utf8))
    exit(2)
}
