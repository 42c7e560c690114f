import Dispatch
import FormatSupport
import GraphIR

/// Reading `nodes` — most of a large trace — on two cores. The array is split at a guessed element
/// boundary halfway through; a second thread reads the second half while this one reads the first and
/// confirms the guess by landing on it. Whatever goes wrong in the second half (an error, a duplicate id,
/// a wrong guess) is dropped and that half is read again in order, so errors and results are exactly those
/// of reading in order.
extension StreamingTraceReader {
    mutating func readNodes() throws(InputError) {
        try scanner.beginArray()
        let remaining = scanner.byteCount - scanner.position
        // Below a few megabytes a second thread costs more than it saves.
        if remaining >= parallelThreshold, let boundary = scanner.likelyElementBoundary(from: scanner.position + remaining / 2) {
            if try readNodesInParallel(splitAt: boundary) { return }
        }
        while try scanner.nextElement() { builder.addNode(try parseNode()) }
    }

    /// True when the whole array was read; false when the caller must go on reading in order from here.
    private mutating func readNodesInParallel(splitAt boundary: Int) throws(InputError) -> Bool {
        // The second half's reader shares the id table (which nobody changes while nodes are read) and has
        // its own node ids; it holds nothing of the graph, so building it here copies nothing.
        let task = SecondHalf(StreamingTraceReader(sharing: self, scanner: scanner.fork(at: boundary)))
        let group = DispatchGroup()
        // The reader points into the document, which lives only as long as this call: wait whatever happens.
        defer { group.wait() }
        DispatchQueue.global().async(group: group) { task.run() }
        while scanner.position < boundary {
            guard try scanner.nextElement() else { return true }  // the guess lay beyond the array's end
            builder.addNode(try parseNode())
        }
        group.wait()
        guard scanner.position == boundary, let (nodes, ids, end) = task.result, nodeIDs.isDisjoint(with: ids) else {
            return false
        }
        for node in nodes { builder.addNode(node) }
        nodeIDs.formUnion(ids)
        scanner = end
        return true
    }
}

/// The second thread's reader and what it hands back: its nodes, their ids and where its scanner ended
/// (after the `]`). Touched by one thread at a time: the group's wait orders them.
private final class SecondHalf: @unchecked Sendable {
    private var reader: StreamingTraceReader
    var result: (nodes: [Node], ids: Set<String>, scanner: JSONScanner)?

    init(_ reader: StreamingTraceReader) {
        self.reader = reader
    }

    func run() {
        var nodes: [Node] = []
        do {
            while try reader.scanner.nextElement() { nodes.append(try reader.parseNode()) }
            result = (nodes, reader.nodeIDs, reader.scanner)
        } catch {
            result = nil
        }
    }
}
