import Foundation
import FormatSupport

/// Writes output all at once or not at all: to a temporary file beside the target, renamed into place,
/// so an interrupted or failed run never leaves half a file where the user expects a result.
public enum OutputFile {
    /// Writes `text` to `path`, or to standard output when `path` is "-".
    public static func write(_ text: String, to path: String) throws(InputError) {
        try write(Data(text.utf8), to: path)
    }

    public static func write(_ data: Data, to path: String) throws(InputError) {
        if path == "-" {
            FileHandle.standardOutput.write(data)
            return
        }
        let url = URL(fileURLWithPath: path)
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let type = attributes?[.type] as? FileAttributeType, type != .typeRegular {
            // A device or pipe (/dev/null, a FIFO): there is nothing to replace, write straight through.
            guard let handle = FileHandle(forWritingAtPath: path) else { throw InputError(file: path, message: "cannot open for writing") }
            defer { try? handle.close() }
            handle.write(data)
            return
        }
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputError(file: path, message: "cannot write: directory \(directory.path) does not exist")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try data.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw InputError(file: path, message: "cannot write: \(error.localizedDescription)")
        }
        // rename(2) replaces the target atomically: readers see the old file or the new one, never half.
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw InputError(file: path, message: "cannot write: \(reason)")
        }
    }
}
