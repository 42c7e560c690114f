import Foundation
import FormatSupport
import TensorBoardEvents

/// Reads a file through the frontend its content says it is (`Frontends`); a directory is a TensorBoard
/// log directory.
public enum InputLoader {
    /// Files larger than this are refused rather than read into memory.
    public static let maxFileSize = 2 << 30

    public static func load(path: String) throws(InputError) -> LoadedInput {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try loadLogDirectory(path)
        }
        return try Frontends.read(try readFile(path), fileName: path)
    }

    /// A TensorBoard log directory, as `tensorboard --logdir` takes it: the runs are the folders below it
    /// that hold event files. One run with a graph is read (its newest event file with a graph); several are
    /// named, so the user picks one rather than getting a verdict on a run they did not mean.
    static func loadLogDirectory(_ directory: String) throws(InputError) -> LoadedInput {
        var runs: [String: [String]] = [:]
        if let walker = FileManager.default.enumerator(atPath: directory) {
            while let relative = walker.nextObject() as? String {
                guard TensorBoardGraphReader.isEventFileName(relative) else { continue }
                let run = (relative as NSString).deletingLastPathComponent
                runs[run, default: []].append(relative)
            }
        }
        guard !runs.isEmpty else {
            throw InputError(file: directory, message: "is a directory without a TensorBoard event file (events.out.tfevents.*), in it or in its subfolders")
        }
        var withGraph: [(run: String, path: String)] = []
        var chosenBytes: [UInt8] = []
        for run in runs.keys.sorted() {
            // The newest file first: event file names start with the time they were written.
            for relative in runs[run]!.sorted(by: { ($0 as NSString).lastPathComponent > ($1 as NSString).lastPathComponent }) {
                let path = (directory as NSString).appendingPathComponent(relative)
                let bytes = try readFile(path)
                let hasGraph: Bool
                do { hasGraph = try TensorBoardGraphReader.containsGraph(bytes) } catch { throw error.inFile(path) }
                if hasGraph {
                    if withGraph.isEmpty { chosenBytes = bytes }
                    withGraph.append((run, path))
                    break
                }
            }
        }
        guard let chosen = withGraph.first else {
            let files = runs.values.reduce(0) { $0 + $1.count }
            throw InputError(file: directory, message: "none of its \(files) event file(s) has a graph (was SummaryWriter.add_graph called?)")
        }
        guard withGraph.count == 1 else {
            let names = withGraph.map { (directory as NSString).appendingPathComponent($0.run) }
            throw InputError(
                file: directory,
                message: "holds \(withGraph.count) runs with a graph (\(names.joined(separator: ", "))): check one run at a time, e.g. `graphcheck \(names[0])`")
        }
        return try Frontends.read(chosenBytes, fileName: chosen.path)
    }

    /// Bytes already in memory, recognised and read as a file called `name` would be.
    public static func load(bytes: [UInt8], name: String) throws(InputError) -> LoadedInput {
        try Frontends.read(bytes, fileName: name)
    }

    public static func readFile(_ path: String) throws(InputError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, message: "no such file")
        }
        guard !isDirectory.boolValue else { throw InputError(file: path, message: "is a directory, expected a file") }
        // POSIX reads straight into the array: going through Data costs a second copy of a 300 MB trace.
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InputError(file: path, message: "cannot open the file for reading") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw InputError(file: path, message: "cannot read the file") }
        guard status.st_mode & S_IFMT == S_IFREG else { return try readStream(fd, path) }
        let size = Int(status.st_size)
        guard size <= maxFileSize else { throw InputError(file: path, message: "file is larger than \(maxFileSize >> 20) MiB") }
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let n = read(fd, buffer.baseAddress! + count, size - count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                count += n
            }
            failed = count < size
        }
        // A file that shrank while being read is as good as unreadable.
        guard !failed else { throw InputError(file: path, message: "cannot read the file: it ended after \(bytes.count) of \(size) bytes") }
        return bytes
    }

    /// A pipe or device (`<(…)`, /dev/stdin): read until its end, refusing more than `maxFileSize`.
    private static func readStream(_ fd: Int32, _ path: String) throws(InputError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw InputError(file: path, message: "cannot read the file") }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<n])
            guard bytes.count <= maxFileSize else { throw InputError(file: path, message: "file is larger than \(maxFileSize >> 20) MiB") }
        }
    }
}
