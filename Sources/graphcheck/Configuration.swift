import Foundation
import FormatSupport
import GraphCheck

/// Settings a project keeps beside its model instead of on every command line: `.graphcheck.json` in the
/// model's directory, or a file given with `--config`. Command-line options win over it.
///
/// ```json
/// {"branches": ["heads.0", "heads.1"], "allow_shared": ["encoder"], "format": "json"}
/// ```
public struct Configuration: Sendable, Equatable {
    public static let fileName = ".graphcheck.json"
    public static let formats: Set<String> = ["text", "json", "sarif"]

    public var branches: [String] = []
    public var allowShared: [String] = []
    public var format: String?
    /// Where it was read from, nil when no file applies.
    public var path: String?

    public init() {}

    /// The explicit file, else `.graphcheck.json` beside `input` when it exists, else the defaults.
    public static func load(for input: String, explicit: String?) throws(InputError) -> Configuration {
        let path: String
        if let explicit {
            path = explicit
        } else {
            let directory = URL(fileURLWithPath: input).deletingLastPathComponent().path
            path = (directory as NSString).appendingPathComponent(fileName)
            guard FileManager.default.fileExists(atPath: path) else { return Configuration() }
        }
        return try parse(try InputLoader.readFile(path), path: path)
    }

    public static func parse(_ bytes: [UInt8], path: String) throws(InputError) -> Configuration {
        do throws(InputError) {
            let root = JSONCursor(root: try JSONParser.parse(bytes), source: JSONSource(bytes: bytes))
            try root.checkKeys(["branches", "allow_shared", "format"])
            var configuration = Configuration()
            configuration.path = path
            configuration.branches = try root.optional("branches")?.strings() ?? []
            configuration.allowShared = try root.optional("allow_shared")?.strings() ?? []
            if let format = try root.optional("format") {
                let value = try format.string()
                guard formats.contains(value) else { throw format.error("format must be one of \(formats.sorted().joined(separator: ", "))") }
                configuration.format = value
            }
            return configuration
        } catch {
            throw error.inFile(path)
        }
    }
}
