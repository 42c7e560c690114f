import GraphIR

/// The module tree as branch discovery reads it: an in-place op one module runs on a tensor another made,
/// whose new values then fork into separate modules outside the writer, counts as the maker's. A head's
/// forward pre-hook or first layer scaling the trunk's features in place (DETR's class head, read on by the
/// box and mask heads) otherwise reaches every result, and the head passes for trunk — the bug hiding the
/// head it lies in. The rules still see the op where it ran, and report the write between the heads. A write
/// read on by one computation (a stem's `ReLU(inplace=True)`) stays where it is.
enum InPlaceWrites {
    /// The graph with such writes moved to their makers' modules; nil when none moves.
    static func attributed(_ graph: Graph) -> Graph? {
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
        guard let module else { return nil }
        var moved = graph
        for index in graph.nodes.indices where module[index] != graph.nodes[index].module {
            moved.move(NodeID(index), toModule: module[index])
        }
        return moved
    }

    /// `found`, found in `moved`, with the trunk modules whose every op moved listed again: a module that ran
    /// (`relu` after the trunk, writing in place) is still the trunk's, though discovery counted its ops as
    /// the tensor maker's.
    static func restoringTrunk(_ found: Discovery, original: Graph, moved: Graph) -> Discovery {
        guard let parent = found.parent, found.branches.count >= 2 else { return found }
        var firstOp: [String: Int] = [:]
        var stillRuns = Set<String>()
        for index in original.nodes.indices where original.nodes[index].module != moved.nodes[index].module {
            if firstOp[original.nodes[index].module] == nil { firstOp[original.nodes[index].module] = index }
        }
        guard !firstOp.isEmpty else { return found }
        for node in moved.nodes where firstOp[node.module] != nil { stillRuns.insert(node.module) }
        // At the level the trunk was listed at: the branches' parent, or that of the trunk's own modules.
        let levels = Set([parent] + found.trunk.map { ModulePath.parent(of: $0).map(String.init) ?? "" })
        let emptied = firstOp.keys.filter { module in
            !stillRuns.contains(module) && levels.contains(ModulePath.parent(of: module).map(String.init) ?? "")
                && !found.trunk.contains(module) && !found.branches.contains { $0.prefixes.contains { modulePath(module, isWithin: $0) } }
        }
        guard !emptied.isEmpty else { return found }
        // Each before the first trunk module whose first op runs after its own.
        var starts = [Int](repeating: Int.max, count: found.trunk.count)
        for index in original.nodes.indices where index == 0 || original.nodes[index].module != original.nodes[index - 1].module {
            for (t, module) in found.trunk.enumerated() where starts[t] == Int.max && modulePath(original.nodes[index].module, isWithin: module) {
                starts[t] = index
            }
        }
        var restored = found
        for module in emptied.sorted(by: { firstOp[$0]! < firstOp[$1]! }) {
            let at = starts.firstIndex { $0 > firstOp[module]! } ?? starts.count
            restored.trunk.insert(module, at: at)
            starts.insert(firstOp[module]!, at: at)
        }
        return restored
    }

    /// Whether the readers lie in two modules neither holding the other, one of them outside the writer.
    static func forks(_ readers: [String], outside writer: String) -> Bool {
        let modules = Set(readers)
        guard modules.count >= 2, modules.contains(where: { !modulePath($0, isWithin: writer) }) else { return false }
        return modules.filter { r in !modules.contains { $0 != r && modulePath(r, isWithin: $0) } }.count >= 2
    }
}
