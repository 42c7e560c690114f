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
        return try GraphDefImporter(graph).importGraph()
    }

    /// Whether the event file holds a graph event (checks framing and checksums on the way).
    public static func containsGraph(_ bytes: [UInt8]) throws(InputError) -> Bool {
        try graphDef(in: bytes) != nil
    }

    /// The last graph event's GraphDef.
    static func graphDef(in bytes: [UInt8]) throws(InputError) -> Tensorboard_GraphDef? {
        var reader = TFRecordReader(bytes: bytes)
        var found: Tensorboard_GraphDef?
        while let range = try reader.next() {
            let event: Tensorboard_Event
            do {
                event = try Tensorboard_Event(serializedBytes: Array(bytes[range]))
            } catch {
                throw InputError(location: "byte \(range.lowerBound)", message: "not a TensorBoard event record (\(error))")
            }
            guard case .graphDef(let data) = event.what else { continue }
            do {
                found = try Tensorboard_GraphDef(serializedBytes: data)
            } catch {
                throw InputError(location: "byte \(range.lowerBound)", message: "the graph event's GraphDef does not parse (\(error))")
            }
        }
        return found
    }
}
