import Foundation
import Testing
import TestSupport

/// The fuzz harness (fuzz/, run under libFuzzer by `make fuzz`) also replays files when built plainly.
/// Here every reader is handed every fixture and hostile file — other formats' files included, which are
/// garbage to it — and must read or reject each without trapping, through verify, analysis and DOT.
/// Crashes the fuzzer finds become files in Tests/Fixtures/hostile and are replayed here too.
@Suite struct FuzzHarnessTests {
    static let files: [String] = {
        let root = Repository.root
        var found: [String] = []
        for folder in ["samples", "Tests/Fixtures/hostile", "Tests/Fixtures/torch"] {
            let enumerator = FileManager.default.enumerator(atPath: root.appendingPathComponent(folder).path)
            while let name = enumerator?.nextObject() as? String {
                let path = "\(folder)/\(name)"
                let attributes = try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)
                guard (attributes?[.type] as? FileAttributeType) == .typeRegular,
                      let size = attributes?[.size] as? Int, size < 2 << 20 else { continue }
                found.append(path)
            }
        }
        return found.sorted()
    }()

    @Test(arguments: ["model-spec", "trace", "onnx", "tensorboard", "torch-file"])
    func everyReaderSurvivesEveryFixture(reader: String) throws {
        #expect(Self.files.count > 40)
        let result = try GraphCheckBinary.run([reader] + Self.files, executable: "graphcheck-fuzz")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == Self.files.count)
    }
}
