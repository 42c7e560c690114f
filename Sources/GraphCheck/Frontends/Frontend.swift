import FormatSupport
import GraphIR

/// One input format: how its bytes are recognised (by content, since users rename files), how they are
/// read into a graph, and what the format can and cannot show about a model. Every graph a frontend
/// reads passes `verify()` at this boundary before anything downstream sees it.
public protocol Frontend: Sendable {
    /// A short id (`trace`, `onnx`): the fuzz harness's target names and `graphcheck formats`.
    var id: String { get }
    /// What the input is, in a message ("ONNX model").
    var name: String { get }
    /// What the format records and what it cannot show, in a sentence each.
    var shows: String { get }
    var cannotShow: String { get }
    /// Whether the bytes are this format, from their content.
    func recognizes(_ bytes: [UInt8]) -> Bool
    /// Whether a file name says this format, for bytes no frontend recognises (a truncated file).
    func claims(fileName: String) -> Bool
    /// The graph and what the input says about branches; the graph is verified by the registry.
    func read(_ bytes: [UInt8]) throws(InputError) -> LoadedInput
    /// Whether `read` has already rejected repeated ids where they stand in the file (so verifying need
    /// not hash every id a second time).
    var rejectsRepeatedIDs: Bool { get }
}

extension Frontend {
    public func claims(fileName: String) -> Bool { false }
    public var rejectsRepeatedIDs: Bool { false }
}

/// A graph read from one of the inputs graphcheck understands, with what the input says about branches.
public struct LoadedInput: Sendable {
    public var graph: Graph
    public var declaredBranches: [String]
    /// What kind of file it was, for messages ("model spec", "trace").
    public var kind: String
    /// Sharing the input declares intended (a model spec's `"allow_shared"`).
    public var declaredAllowShared: [String] = []

    public init(graph: Graph, declaredBranches: [String] = [], kind: String, declaredAllowShared: [String] = []) {
        self.graph = graph
        self.declaredBranches = declaredBranches
        self.kind = kind
        self.declaredAllowShared = declaredAllowShared
    }
}

/// The one registry of input formats, used by the command line, the library and the fuzz harness alike.
public enum Frontends {
    /// In the order they are asked to recognise bytes: the strict binary signatures first, then JSON,
    /// then ONNX, whose first byte is all it can be told by. The model spec comes last: it is also the
    /// answer for JSON that is neither (its errors say what a graphcheck file must look like).
    public static let all: [any Frontend] = [
        TorchFileFrontend(), TensorBoardFrontend(), TraceFrontend(), ONNXFrontend(), ModelSpecFrontend(),
    ]

    public static func named(_ id: String) -> (any Frontend)? { all.first { $0.id == id } }

    /// The frontend for these bytes: by content, then by the file's name, else the model spec's (JSON).
    public static func frontend(for bytes: [UInt8], fileName: String) -> any Frontend {
        all.first { $0.recognizes(bytes) } ?? all.first { $0.claims(fileName: fileName) } ?? all.last!
    }

    /// Reads `bytes` with `frontend` and verifies the graph: a broken invariant is a bad input, located
    /// at the element, never a crash downstream.
    public static func read(_ bytes: [UInt8], with frontend: any Frontend) throws(InputError) -> LoadedInput {
        let input = try frontend.read(bytes)
        if let problem = input.graph.verify(checkingIDs: !frontend.rejectsRepeatedIDs).first {
            throw InputError(location: problem.element, message: problem.message)
        }
        return input
    }

    /// Recognises and reads `bytes`; errors name `fileName`.
    public static func read(_ bytes: [UInt8], fileName: String) throws(InputError) -> LoadedInput {
        do {
            return try read(bytes, with: frontend(for: bytes, fileName: fileName))
        } catch {
            throw error.inFile(fileName)
        }
    }
}
