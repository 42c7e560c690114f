import GraphIR

/// The module tree as branch discovery reads it: an in-place op one module runs on a tensor another made,
/// whose new values then fork into separate modules outside the writer, counts as the maker's. A head's
/// forward pre-hook or first layer scaling the trunk's features in place (DETR's class head, read on by the
/// box and mask heads) otherwise reaches every result, and the head passes for trunk — the bug hiding the
/// head it lies in. The rules still see the op where it ran, and report the write between the heads. A write
/// read on by one computation (a stem's `ReLU(inplace=True)`) stays where it is.
enum InPlaceWrites {
    static func attributed(_ graph: Graph) -> Graph {
        var module: [String]? = nil
        func maker(of value: ValueID) -> String? {
            graph[value].producer.map { module?[$0.index] ?? graph[$0].module }
        }
        for index in graph.nodes.indices where graph.nodes[index].inplace && !graph.nodes[index].throughView {
            let node = graph.nodes[index]
            guard !node.module.isEmpty, let result = node.outputs.first else { continue }
            // One write is an op on the tensor it was given and, when that is a view, the same op's new version
            // of each base the view lies in (`through_view`): what follows either reads what was written.
            let group = [index] + graph[result].uses.filter { use in
                use.index == 1 && graph[use.node].inplace && graph[use.node].throughView && graph[use.node].module == node.module
            }.map(\.node.index)
            let readers = group.flatMap { member in
                graph.nodes[member].outputs.prefix(1).flatMap { graph[$0].uses.map(\.node.index) }
            }.filter { !group.contains($0) }
            guard forks(readers.map { graph.nodes[$0].module }, outside: node.module) else { continue }
            for member in group {
                guard let target = graph.nodes[member].firstValueInput, let owner = maker(of: target),
                      !modulePath(owner, isWithin: node.module) else { continue }
                if module == nil { module = graph.nodes.map(\.module) }
                module![member] = owner
            }
        }
        guard let module else { return graph }
        var moved = graph
        for index in graph.nodes.indices where module[index] != graph.nodes[index].module {
            moved.move(NodeID(index), toModule: module[index])
        }
        return moved
    }

    /// Whether the readers lie in two modules neither holding the other, one of them outside the writer.
    static func forks(_ readers: [String], outside writer: String) -> Bool {
        let modules = Set(readers)
        guard modules.count >= 2, modules.contains(where: { !modulePath($0, isWithin: writer) }) else { return false }
        return modules.filter { r in !modules.contains { $0 != r && modulePath(r, isWithin: $0) } }.count >= 2
    }
}
