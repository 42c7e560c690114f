import Foundation
import Testing
import TestSupport

@Suite struct TensorBoardCommandTests {
    let fixture = "Tests/Fixtures/torch/tensorboard/densenet121_multihead/events.out.tfevents.fixture"

    @Test func logDirectoryAndEventFileGiveTheVerdict() throws {
        let file = try GraphCheckBinary.run([fixture, "--format", "json"])
        #expect(file.status == 1)
        #expect(file.stdout.contains("\"independent\": false"))
        // TensorBoard knows tensors by attribute path: no sharing found is not a pass (exit 3), and it says why.
        let directory = try GraphCheckBinary.run(["Tests/Fixtures/torch/tensorboard/densenet121_multihead_fixed"])
        #expect(directory.status == 3)
        #expect(directory.stdout.contains("— no sharing visible, but cannot decide from this input: a TorchScript graph (TensorBoard)"))
        #expect(directory.stdout.contains("graphcheck_torch"))
    }

    @Test func badEventFilesExitTwoWithTheByteOffset() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Repository.path(fixture)))
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        let cases: [(String, Data, String)] = [
            ("truncated", bytes.prefix(bytes.count - 100), "truncated record"),
            ("corrupted", flipped, "record data checksum mismatch"),
            ("empty", Data(), "no graph in this event file"),
        ]
        for (name, data, message) in cases {
            let path = dir.path("events.out.tfevents.\(name)")
            try data.write(to: URL(fileURLWithPath: path))
            let result = try GraphCheckBinary.run([path])
            #expect(result.status == 2, "\(name)")
            #expect(result.stderr.contains("\(path): "), "\(name): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(name): \(result.stderr)")
        }
        let emptyDirectory = dir.url.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: emptyDirectory, withIntermediateDirectories: true)
        let none = try GraphCheckBinary.run([emptyDirectory.path])
        #expect(none.status == 2)
        #expect(none.stderr.contains("is a directory without a TensorBoard event file"))
    }

    @Test func onnxFilesAreCheckedAndRendered() throws {
        let fixed = try GraphCheckBinary.run(["Tests/Fixtures/torch/onnx/densenet121_multihead_fixed_trained.torchscript.onnx", "--format", "json"])
        #expect(fixed.status == 3)
        #expect(fixed.stdout.contains("\"independent\": null"))
        #expect(fixed.stdout.contains("\"undecided_reason\": \"storage-not-recorded\""))
        #expect(fixed.stdout.contains("\"basis\": \"name\""))
        let shared = try GraphCheckBinary.run(["Tests/Fixtures/torch/onnx/densenet121_multihead.torchscript.onnx", "--format", "json"])
        #expect(shared.status == 3, "warnings only: cannot decide")
        #expect(shared.stdout.contains("\"independent\": null"))
        #expect(shared.stdout.contains("\"undecided_reason\": \"input-cannot-tell\""))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let render = try GraphCheckBinary.run(["render", "Tests/Fixtures/torch/onnx/densenet121_multihead.dynamo.onnx", "-o", dir.path("m.svg")])
        #expect(render.status == 0, "\(render.stderr)")
        let garbage = try dir.write("bad.onnx", "not protobuf at all")
        let bad = try GraphCheckBinary.run([garbage])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad.onnx: byte 0: not a readable ONNX model"))
    }
}
