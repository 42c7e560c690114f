import FormatSupport
import GraphIR
import TensorBoardEvents

/// TensorBoard event files with a graph (`SummaryWriter.add_graph`), as users already have them.
struct TensorBoardFrontend: Frontend {
    let id = "tensorboard"
    let name = "TensorBoard event file"
    let shows = "the TorchScript graph: every op with module scopes and shapes, parameters and buffers by the attribute path they are reached through"
    let cannotShow = "storage identity: a tensor assigned into another module (`.data =`, `nn.Parameter(other)`) looks like a tensor of its own, and a module reached under two names looks like one"

    func recognizes(_ bytes: [UInt8]) -> Bool { TensorBoardGraphReader.startsLikeEventFile(bytes) }
    func claims(fileName: String) -> Bool { TensorBoardGraphReader.isEventFileName(fileName) }

    func read(_ bytes: [UInt8]) throws(InputError) -> LoadedInput {
        LoadedInput(graph: try TensorBoardGraphReader.read(bytes), kind: name)
    }
}
