import ArgumentParser
import Foundation
import Analysis
import FormatSupport
import GraphCheck
import Render
import TraceFormat

// Exit codes are part of the interface: 0 independent, 1 error findings, 2 bad input or usage, 3 cannot decide. Argument
// parsing errors would otherwise exit 64, and uncaught errors would print a Swift error dump.
func standardError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

do {
    var command = try GraphCheckCommand.parseAsRoot()
    try command.run()
} catch let error as InputError {
    standardError("graphcheck: error: \(error)")
    exit(2)
} catch let error as RenderError {
    standardError("graphcheck: error: \(error)")
    exit(2)
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    let code = GraphCheckCommand.exitCode(for: error)
    let message = GraphCheckCommand.fullMessage(for: error)
    if code == .success {
        print(message)
        exit(0)
    }
    standardError(message)
    exit(2)
}
