import Foundation
import FormatSupport

/// Draws many inputs with one child process per drawing. libgvc (2.43) leaks part of every clustered
/// layout — tens of kilobytes for the seed at default depth, growing with the graph — so a process that
/// lays out many graphs grows without bound; a child's leak ends with the child.
public enum BatchRender {
    /// `DIRECTORY/NAME.EXT` for each input (NAME: the file name without its extension); the directory is
    /// created. Two inputs with the same name are refused rather than one overwriting the other.
    public static func outputPaths(for inputs: [String], directory: String, extension ext: String) throws(InputError) -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw InputError(file: directory, message: "cannot create the output directory: \(error.localizedDescription)")
        }
        var seen: [String: String] = [:]
        return try inputs.map { input throws(InputError) in
            var name = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
            if name.hasPrefix("events.out.tfevents") { name = URL(fileURLWithPath: input).deletingLastPathComponent().lastPathComponent }
            let path = (directory as NSString).appendingPathComponent("\(name).\(ext)")
            if let other = seen[path] {
                throw InputError(file: input, message: "would be drawn to \(path), like \(other); draw them in separate batches")
            }
            seen[path] = input
            return path
        }
    }

    /// Runs this executable once per input with `arguments(input, outputPath)`; returns how many failed.
    /// Children write their own messages to the inherited standard error.
    public static func run(_ inputs: [String], to outputs: [String], arguments: (String, String) -> [String]) throws(InputError) -> Int {
        guard let executable = Bundle.main.executablePath else {
            throw InputError(message: "cannot find the graphcheck executable to run a batch")
        }
        var failures = 0
        for (input, output) in zip(inputs, outputs) {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = arguments(input, output)
            do {
                try child.run()
            } catch {
                throw InputError(file: executable, message: "cannot start a child process: \(error.localizedDescription)")
            }
            child.waitUntilExit()
            if child.terminationStatus != 0 { failures += 1 }
        }
        return failures
    }
}
