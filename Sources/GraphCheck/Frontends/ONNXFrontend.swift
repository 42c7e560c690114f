import FormatSupport
import GraphIR
import ONNXModels

/// ONNX models from either PyTorch exporter (TorchScript-based or dynamo).
struct ONNXFrontend: Frontend {
    let id = "onnx"
    let name = "ONNX model"
    let shows = "every op with shapes and, from the exporters' scope names, module paths; initializers by name"
    let cannotShow = "storage identity: exporters merge equal-valued tensors under one name and keep one name of a shared tensor, so sharing can be neither proven nor ruled out"

    /// Its ids are made by the reader (`v0`, `s0`, `n0`, …), unique by construction.
    var rejectsRepeatedIDs: Bool { true }

    func recognizes(_ bytes: [UInt8]) -> Bool { ONNXModelReader.startsLikeModel(bytes) }
    func claims(fileName: String) -> Bool { ONNXModelReader.isONNXFileName(fileName) }

    func read(_ bytes: [UInt8]) throws(InputError) -> LoadedInput {
        LoadedInput(graph: try ONNXModelReader.read(bytes), kind: name)
    }
}
