/// A problem with something the user handed us, located precisely enough to fix it: the file and the
/// place inside it (a JSON path with line and column, a byte offset, a node name). Every frontend throws
/// this and nothing else for bad input, so the CLI can turn it into one line and exit code 2.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var location: String
    public var message: String

    public init(file: String = "", location: String = "", message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    /// The same error, attributed to `file` if it did not name one yet.
    public func inFile(_ file: String) -> InputError {
        var copy = self
        if copy.file.isEmpty { copy.file = file }
        return copy
    }

    public var description: String {
        var parts: [String] = []
        if !file.isEmpty { parts.append(file) }
        if !location.isEmpty { parts.append(location) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}
