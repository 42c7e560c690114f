import Foundation
import Testing
import TestSupport

/// Inputs are recognised by their bytes, not their names; a log directory is searched as `tensorboard
/// --logdir` searches it; PyTorch files that are not graphs are answered with the command that makes one.
@Suite struct InputRecognitionTests {
    let events = "Tests/Fixtures/torch/tensorboard/list_heads/events.out.tfevents.fixture"
    let onnx = "Tests/Fixtures/torch/onnx/list_heads.dynamo.onnx"

    @Test func renamedEventFilesAndONNXModelsAreReadByContent() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for (source, name) in [(events, "graph.bin"), (onnx, "model.pb")] {
            let renamed = dir.path(name)
            try FileManager.default.copyItem(atPath: Repository.path(source), toPath: renamed)
            let original = try GraphCheckBinary.run([source, "--format", "json"])
            let result = try GraphCheckBinary.run([renamed, "--format", "json"])
            #expect(result.status == original.status, "\(name): \(result.stderr)")
            #expect(result.stdout == original.stdout, "\(name)")
        }
    }

    @Test(arguments: [
        ("state_dict.pt", "is a PyTorch checkpoint (torch.save)"),
        ("legacy.pth", "is a pickled PyTorch checkpoint (torch.save, legacy format)"),
        ("scripted.pt", "is a TorchScript archive (torch.jit.save)"),
        ("exported.pt2", "is a torch.export archive (.pt2)"),
        ("weights.safetensors", "is a safetensors weights file"),
    ])
    func pytorchFilesThatAreNotGraphsSayHowToExportOne(file: String, what: String) throws {
        let path = "Tests/Fixtures/torch/checkpoints/\(file)"
        let result = try GraphCheckBinary.run([path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(path): \(what)"), "\(result.stderr)")
        #expect(result.stderr.contains("python -m graphcheck_torch"))
    }

    @Test func logDirectoriesAreSearchedForRuns() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let manager = FileManager.default
        let run = dir.path("runs/exp1/train")
        try manager.createDirectory(atPath: run, withIntermediateDirectories: true)
        try manager.copyItem(atPath: Repository.path(events), toPath: run + "/events.out.tfevents.1.host")
        let one = try GraphCheckBinary.run([dir.path("runs"), "--format", "json"])
        let direct = try GraphCheckBinary.run([events, "--format", "json"])
        #expect(one.status == direct.status, "\(one.stderr)")
        #expect(one.stdout == direct.stdout)
        // Two runs with a graph: no verdict on a run the user did not mean; both are named.
        let other = dir.path("runs/exp2")
        try manager.createDirectory(atPath: other, withIntermediateDirectories: true)
        try manager.copyItem(atPath: Repository.path(events), toPath: other + "/events.out.tfevents.2.host")
        let two = try GraphCheckBinary.run([dir.path("runs")])
        #expect(two.status == 2)
        #expect(two.stderr.contains("holds 2 runs with a graph (\(dir.path("runs/exp1/train")), \(dir.path("runs/exp2")))"), "\(two.stderr)")
        let named = try GraphCheckBinary.run([other, "--format", "json"])
        #expect(named.stdout == direct.stdout)
    }
}
