import GraphIR
import OrderedCollections

extension Analyzer {
    /// The outermost modules that ran ops with trainable parameters of which no result flows, by any path, to
    /// the model's outputs: a head whose result only a loss reads, computed when the forward is given labels
    /// (UperNet's and BEiT's `auxiliary_head` called without `labels=`), or a part whose result the forward
    /// drops (a pooler a question-answering model does not return). Discovery cannot see such a head, and
    /// nothing about it reaches a verdict; the report says so, and what to export if it is one. Buffers alone
    /// do not count: a quantizer's observers update their statistics and return nothing.
    static func modulesUnreached(_ graph: Graph) -> [String] {
        let outputs = Set(graph.outputs)
        var flows = [Bool](repeating: false, count: graph.nodes.count)
        for index in stride(from: graph.nodes.count - 1, through: 0, by: -1) {
            flows[index] = graph.nodes[index].outputs.contains { v in outputs.contains(v) || graph[v].uses.contains { flows[$0.node.index] } }
        }
        let reaching = modulesThatRan(graph) { flows[$0] }   // modules some op under which flows to an output
        func trains(_ node: Node) -> Bool { node.storageInputs.contains { graph[$0].kind == .parameter && graph[$0].trainable } }
        var found = OrderedSet<String>()
        for index in graph.nodes.indices where !flows[index] && graph.nodes[index].readsStorage && trains(graph.nodes[index]) {
            let module = graph.nodes[index].module
            guard !module.isEmpty, !reaching.contains(module) else { continue }
            found.append(outermost(module, outside: reaching))
        }
        return Array(found)
    }
}
