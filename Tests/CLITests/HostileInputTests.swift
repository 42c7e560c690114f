import Foundation
import Testing
import TestSupport

/// Tests/Fixtures/hostile: truncated, corrupted, oversized, overflowing, deeply nested, cyclic, dangling,
/// duplicated and oddly named inputs. Each must exit 2 with a message naming the file and the place, for
/// every command, and leave no output file behind.
@Suite struct HostileInputTests {
    static let directory = "Tests/Fixtures/hostile"
    static let expected: [String: String] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Repository.path("\(directory)/expected.json")))
        return try! JSONDecoder().decode([String: String].self, from: data)
    }()

    @Test func everyFileInTheCorpusHasAnExpectation() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Repository.path(Self.directory))
            .filter { $0 != "expected.json" && $0 != "README.md" }
        #expect(Set(files) == Set(Self.expected.keys))
    }

    @Test(arguments: expected.keys.sorted())
    func hostileInputExitsTwoWithALocatedMessage(name: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = Repository.path("\(Self.directory)/\(name)")
        let commands: [[String]] = [[path], ["trace", path, "-o", dir.path("out.json")], ["render", path, "-o", dir.path("out.svg")]]
        for arguments in commands {
            let result = try GraphCheckBinary.run(arguments)
            #expect(result.status == 2, "\(arguments[0]) \(name): exit \(result.status)")
            #expect(result.stderr.hasPrefix("graphcheck: error: \(path): "), "\(name): \(result.stderr)")
            #expect(result.stderr.contains(Self.expected[name]!), "\(name): \(result.stderr)")
        }
        #expect(dir.contents().isEmpty, "no output file is left behind")
    }
}
