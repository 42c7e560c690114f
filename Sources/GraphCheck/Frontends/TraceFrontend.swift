import FormatSupport
import GraphIR
import TraceFormat

/// graphcheck's own trace JSON, as the PyTorch exporter and `graphcheck trace` write it.
struct TraceFrontend: Frontend {
    let id = "trace"
    let name = "trace"
    let shows = "every op with its module call site and source line, tensor shapes, each parameter and buffer by storage and byte range under all its names, in-place ops and BatchNorm state writes"
    let cannotShow = "nothing the analysis needs; ops that never ran for the example input are absent"
    let rejectsRepeatedIDs = true

    func recognizes(_ bytes: [UInt8]) -> Bool { (try? JSONHeader.read(bytes))?.format == TraceWriter.format }

    func read(_ bytes: [UInt8]) throws(InputError) -> LoadedInput {
        LoadedInput(graph: try TraceReader.read(bytes), kind: name)
    }
}

/// The top-level `"format"` string and whether there is a `"model"` key, read without building the
/// document: a trace is then read by its streaming reader, never as a tree.
enum JSONHeader {
    static func read(_ bytes: [UInt8]) throws(InputError) -> (format: String?, hasModel: Bool) {
        guard let first = bytes.first(where: { !JSONScanner.isWhitespace($0) }), first == UInt8(ascii: "{") else { return (nil, false) }
        return try JSONScanner.scan(bytes) { (scanner) throws(InputError) -> (String?, Bool) in
            try scanner.beginObject()
            var hasModel = false
            while let key = try scanner.nextKey() {
                if key == "format", try scanner.peek() == .string { return (try scanner.string(), hasModel) }
                hasModel = hasModel || key == "model"
                try scanner.skipValue()
            }
            return (nil, hasModel)
        }
    }
}
