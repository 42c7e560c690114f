import FormatSupport
import Foundation
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// One registry of input formats: each file goes to the frontend its bytes say, and every graph is
/// verified at that boundary, whichever frontend built it.
@Suite struct FrontendRegistryTests {
    @Test(arguments: [
        ("samples/densenet121_multihead.json", "model-spec"),
        ("Tests/Fixtures/torch/densenet121_multihead.trace.json", "trace"),
        ("Tests/Fixtures/torch/onnx/list_heads.dynamo.onnx", "onnx"),
        ("Tests/Fixtures/torch/tensorboard/list_heads/events.out.tfevents.fixture", "tensorboard"),
        ("Tests/Fixtures/torch/checkpoints/state_dict.pt", "torch-file"),
        ("Tests/Fixtures/torch/checkpoints/weights.safetensors", "torch-file"),
    ])
    func filesGoToTheFrontendTheirBytesSay(file: String, frontend: String) throws {
        let bytes = try InputLoader.readFile(Repository.path(file))
        // The name must not matter: the same bytes under a meaningless name go to the same frontend.
        #expect(Frontends.frontend(for: bytes, fileName: "input.bin").id == frontend)
    }

    @Test func aTruncatedFileGoesByItsName() {
        #expect(Frontends.frontend(for: [0xFF, 0xFF], fileName: "model.onnx").id == "onnx")
        #expect(Frontends.frontend(for: [0xFF, 0xFF], fileName: "events.out.tfevents.1.host").id == "tensorboard")
        #expect(Frontends.frontend(for: [0xFF, 0xFF], fileName: "x").id == "model-spec", "the JSON answer, with its error")
    }

    @Test func everyFrontendSaysWhatItCanAndCannotShow() {
        #expect(Set(Frontends.all.map(\.id)).count == Frontends.all.count)
        for frontend in Frontends.all {
            #expect(!frontend.shows.isEmpty && !frontend.cannotShow.isEmpty, "\(frontend.id)")
        }
    }

    @Test func formatsListsEveryFrontend() throws {
        let result = try GraphCheckBinary.run(["formats"])
        #expect(result.status == 0)
        for frontend in Frontends.all { #expect(result.stdout.contains("\(frontend.name) (\(frontend.id))\n  records: ")) }
    }

    /// A frontend that hands over a broken graph (a value used before it is produced) is stopped at the
    /// boundary with a located error, before any analysis sees it.
    @Test func theBoundaryVerifiesWhatAFrontendBuilt() {
        let error = #expect(throws: InputError.self) { try Frontends.read([], with: BrokenFrontend()) }
        #expect(error?.location == "node 'n0'")
        #expect(error?.message == "uses value 'x' before it is produced")
    }
}

private struct BrokenFrontend: Frontend {
    let id = "broken"
    let name = "broken"
    let shows = "-"
    let cannotShow = "-"
    func recognizes(_ bytes: [UInt8]) -> Bool { false }
    func read(_ bytes: [UInt8]) throws(InputError) -> LoadedInput {
        var b = GraphBuilder(name: "m", mode: .train)
        let x = b.addValue(id: "x", shape: [1], dtype: "float32")
        let y = b.addValue(id: "y", shape: [1], dtype: "float32")
        b.addNode(Node(id: "n0", op: "relu", module: "", moduleType: "", inputs: [.value(x)], outputs: [y]))
        b.addOutput(y)
        return LoadedInput(graph: b.finish(), kind: name)
    }
}
