import Foundation
import FormatSupport
import GraphIR
import SwiftProtobuf

/// Reads the graph that PyTorch's `SummaryWriter.add_graph` wrote into a TensorBoard event file.
public enum TensorBoardGraphReader {
    /// Whether a file name looks like a TensorBoard event file.
    public static func isEventFileName(_ name: String) -> Bool {
        name.split(separator: "/").last?.contains("tfevents") ?? false
    }

    /// Whether `bytes` start with a TFRecord header (a length and its masked CRC-32C): an event file
    /// whatever it is called. A random file passes by chance once in four billion.
    public static func startsLikeEventFile(_ bytes: [UInt8]) -> Bool {
        TFRecordReader.headerIsIntact(bytes, at: 0)
    }

    /// The graph in an event file's bytes; an error when the file has no graph event.
    public static func read(_ bytes: [UInt8]) throws(InputError) -> Graph {
        guard let graph = try graphDef(in: bytes) else {
            throw InputError(message: "no graph in this event file (was SummaryWriter.add_graph called?)")
        }
        try requirePyTorchGraph(graph)
        return try GraphDefImporter(graph).importGraph()
    }

    /// PyTorch's `add_graph` writes TorchScript nodes (`aten::conv2d`, `prim::GetAttr`, `IO Node`). A graph
    /// of other ops (TensorFlow's `MatMul`, `ReadVariableOp`, a Keras model's) has no module tree or
    /// parameter names graphcheck could read, and would only come out as "no branches".
    static func requirePyTorchGraph(_ graph: Tensorboard_GraphDef) throws(InputError) {
        guard !graph.node.isEmpty, !graph.node.contains(where: { $0.op == "IO Node" || $0.op.contains("::") }) else { return }
        var kinds: [String] = []
        for node in graph.node where !kinds.contains(node.op) { kinds.append(node.op) }
        let shown = kinds.prefix(4).joined(separator: ", ") + (kinds.count > 4 ? ", …" : "")
        throw InputError(
            location: "node '\(graph.node[0].name)'",
            message: "this graph was not written by PyTorch's add_graph: its ops (\(shown)) are not TorchScript's aten:: and prim:: nodes (a TensorFlow or Keras graph?); graphcheck reads PyTorch models — write the graph with torch.utils.tensorboard's SummaryWriter.add_graph, or export the model with graphcheck_torch")
    }

    /// Whether the event file holds a graph event (checks framing and checksums on the way, but leaves the
    /// graph itself unparsed: a log directory is searched with this, and only the chosen file is read).
    public static func containsGraph(_ bytes: [UInt8]) throws(InputError) -> Bool {
        try lastGraphEvent(in: bytes) != nil
    }

    /// The last graph event's GraphDef.
    static func graphDef(in bytes: [UInt8]) throws(InputError) -> Tensorboard_GraphDef? {
        guard let (data, offset) = try lastGraphEvent(in: bytes) else { return nil }
        do {
            return try Tensorboard_GraphDef(serializedBytes: data)
        } catch {
            throw InputError(location: "byte \(offset)", message: "the graph event's GraphDef does not parse (\(error))")
        }
    }

    /// The serialized GraphDef of the last graph event and the byte offset of its record.
    private static func lastGraphEvent(in bytes: [UInt8]) throws(InputError) -> (Data, Int)? {
        var reader = TFRecordReader(bytes: bytes)
        var found: (Data, Int)?
        while let range = try reader.next() {
            let event: Tensorboard_Event
            do {
                event = try Tensorboard_Event(serializedBytes: Array(bytes[range]))
            } catch {
                throw InputError(location: "byte \(range.lowerBound)", message: "not a TensorBoard event record (\(error))")
            }
            if case .graphDef(let data) = event.what { found = (data, range.lowerBound) }
        }
        return found
    }
}
