import Foundation

/// A graph read from one of the inputs graphcheck understands, with what the input says about branches.
public struct LoadedInput: Sendable {
    public var graph: Graph
    public var declaredBranches: [String]
    /// What kind of file it was, for messages ("model spec", "trace").
    public var kind: String
    /// Sharing the input declares intended (a model spec's `"allow_shared"`).
    public var declaredAllowShared: [String] = []
}

/// Reads a file and dispatches on its content (not its name, which users change): TFRecord framing is an
/// event file, a ModelProto is ONNX, a trace JSON carries `"format": "graphcheck.trace"`, a model spec
/// `"format": "graphcheck.model"` or a `"model"` key; PyTorch checkpoints, TorchScript and safetensors files
/// are answered with the command that exports a graph. A directory is a TensorBoard log directory.
public enum InputLoader {
    /// Files larger than this are refused rather than read into memory.
    public static let maxFileSize = 2 << 30

    public static func load(path: String) throws(InputError) -> LoadedInput {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try loadLogDirectory(path)
        }
        let bytes = try readFile(path)
        let kind = InputKind.recognize(bytes)
        if ONNXModelReader.isONNXFileName(path) || kind == .onnx {
            do {
                return LoadedInput(graph: try ONNXModelReader.read(bytes), declaredBranches: [], kind: "ONNX model")
            } catch {
                throw error.inFile(path)
            }
        }
        if TensorBoardGraphReader.isEventFileName(path) || kind == .tensorBoardEvents {
            do {
                return LoadedInput(graph: try TensorBoardGraphReader.read(bytes), declaredBranches: [], kind: "TensorBoard event file")
            } catch {
                throw error.inFile(path)
            }
        }
        if case .torchFile(let description) = kind {
            throw InputError(file: path, message: InputKind.advice(for: description))
        }
        return try load(bytes: bytes, name: path)
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
        var withGraph: [(run: String, path: String, bytes: [UInt8])] = []
        for run in runs.keys.sorted() {
            // The newest file first: event file names start with the time they were written.
            for relative in runs[run]!.sorted(by: { ($0 as NSString).lastPathComponent > ($1 as NSString).lastPathComponent }) {
                let path = (directory as NSString).appendingPathComponent(relative)
                let bytes = try readFile(path)
                let hasGraph: Bool
                do { hasGraph = try TensorBoardGraphReader.containsGraph(bytes) } catch { throw error.inFile(path) }
                if hasGraph {
                    withGraph.append((run, path, bytes))
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
        do {
            return LoadedInput(graph: try TensorBoardGraphReader.read(chosen.bytes), declaredBranches: [], kind: "TensorBoard event file")
        } catch {
            throw error.inFile(chosen.path)
        }
    }

    public static func load(bytes: [UInt8], name: String) throws(InputError) -> LoadedInput {
        do throws(InputError) {
            let (format, hasModel) = try sniff(bytes)
            if format == TraceWriter.format {
                return LoadedInput(graph: try TraceReader.read(bytes), declaredBranches: [], kind: "trace")
            }
            let cursor = JSONCursor(root: try JSONParser.parse(bytes), source: JSONSource(bytes: bytes))
            if format == ModelSpecReader.format || (format == nil && hasModel) {
                let traced = try ModelSpecReader.read(cursor)
                return LoadedInput(graph: traced.graph, declaredBranches: traced.branches, kind: "model spec", declaredAllowShared: traced.allowShared)
            }
            if let format {
                throw try cursor.required("format").error("unknown format \"\(format)\" (expected \"\(ModelSpecReader.format)\" or \"\(TraceWriter.format)\")")
            }
            throw cursor.error("not a graphcheck model spec or trace: expected a \"format\" key")
        } catch {
            throw error.inFile(name)
        }
    }

    /// The top-level `"format"` string and whether there is a `"model"` key, read without building the
    /// document: a trace is then read by its streaming reader, never as a tree.
    static func sniff(_ bytes: [UInt8]) throws(InputError) -> (format: String?, hasModel: Bool) {
        try JSONScanner.scan(bytes) { (scanner) throws(InputError) -> (String?, Bool) in
            guard try scanner.peek() == .object else { return (nil, false) }
            try scanner.beginObject()
            var hasModel = false
            while let key = try scanner.nextKey() {
                if key == "format", try scanner.peek() == .string { return (try scanner.string(), hasModel) }
                hasModel = hasModel || key == "model"
                try scanner.skipValue()
            }
            return (nil, hasModel)
        }
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
