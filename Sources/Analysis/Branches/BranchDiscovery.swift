import GraphIR

/// Finds the branches a model was meant to have: sibling module subtrees that consume a common fork value
/// and stay apart until the outputs — they meet, if at all, only in ops that merely rearrange tensors
/// (`cat`, `slice`, `view`, …), never in an op that mixes them (`add`, `conv2d`, …).
///
/// That last condition is what separates heads from the paths inside a block: a ResNet block's `conv1`
/// and `downsample` also consume one value, but their results are added; DenseNet layers all read the
/// block input, but each layer's convolution reads the previous layers' outputs too.
public enum BranchDiscovery {
    /// Ops that move elements around without combining them; branches may meet in these.
    public static let rearrangingOps: Set<String> = [
        "cat", "stack", "slice", "select", "view", "reshape", "flatten", "unsqueeze", "squeeze", "permute", "transpose",
        "contiguous", "clone", "split", "chunk", "getitem", "tuple", "identity", "expand", "narrow", "unbind", "t", "to",
        "detach", "alias",
    ]

    /// Branch prefixes in module order, or empty when the graph has no such fork.
    public static func discover(_ graph: Graph) -> [String] {
        let candidates = forkCandidates(graph)
        var masks = [UInt64](repeating: 0, count: graph.nodes.count)
        var bestDepth = Int.max
        var best: [String] = []
        for candidate in candidates {
            if candidate.depth > bestDepth { break }
            let found = evaluate(candidate, graph, &masks)
            if found.count >= 2 && found.count > best.count {
                best = found
                bestDepth = candidate.depth
            }
        }
        return best
    }

    /// A module `parent` whose children `children` (at least two) consume one value.
    struct Candidate {
        var parent: String
        var children: [String]
        var depth: Int
        var order: Int
    }

    /// For each value read by ops in two or more sibling subtrees, the levels of the module tree at which
    /// its readers split, shallowest first.
    static func forkCandidates(_ graph: Graph) -> [Candidate] {
        var result: [Candidate] = []
        var seen = Set<String>()
        // An in-place op's result is the tensor it overwrote: the readers of the result read the same
        // tensor as the op's input (and the op itself is a writer, not a reader).
        var readers = graph.values.map { $0.uses.map(\.node) }
        for index in graph.values.indices.reversed() {
            guard let producer = graph.values[index].producer, graph[producer].inplace,
                let source = graph[producer].valueInputs.first
            else { continue }
            readers[source.index] = readers[source.index].filter { $0 != producer } + readers[index]
        }
        for (index, _) in graph.values.enumerated() where readers[index].count >= 2 {
            var paths: [String] = []
            for reader in readers[index] {
                let path = graph.nodes[reader.index].module
                if !paths.contains(path) { paths.append(path) }
            }
            guard paths.count >= 2 else { continue }
            // Every prefix of a reader's path is a level where readers may fall into different children.
            var childrenByParent: [String: [String]] = [:]
            var parents: [String] = []
            for path in paths {
                let components = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard !path.isEmpty else { continue }
                var parent = ""
                for component in components {
                    if childrenByParent[parent] == nil { parents.append(parent) }
                    if !(childrenByParent[parent, default: []].contains(component)) { childrenByParent[parent, default: []].append(component) }
                    parent = parent.isEmpty ? component : parent + "." + component
                }
            }
            for parent in parents {
                let children = childrenByParent[parent]!
                guard children.count >= 2 else { continue }
                let key = parent + "|" + children.joined(separator: ",")
                guard seen.insert(key).inserted else { continue }
                let depth = parent.isEmpty ? 0 : parent.split(separator: ".").count
                result.append(Candidate(parent: parent, children: Array(children.prefix(BranchSet.capacity)), depth: depth, order: result.count))
            }
        }
        return result.sorted { ($0.depth, $0.order) < ($1.depth, $1.order) }
    }

    /// The children of `candidate` that stay apart: union-find over children that meet in a mixing op or
    /// read one another's results. Returns the children left on their own.
    static func evaluate(_ candidate: Candidate, _ graph: Graph, _ masks: inout [UInt64]) -> [String] {
        let prefixes = candidate.children.map { candidate.parent.isEmpty ? $0 : candidate.parent + "." + $0 }
        var parent = Array(0..<prefixes.count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        var classes = prefixes.count
        func merge(_ set: UInt64) {
            var rest = set
            let first = find(rest.trailingZeroBitCount)
            rest &= rest - 1
            while rest != 0 {
                let other = find(rest.trailingZeroBitCount)
                if other != first { parent[other] = first; classes -= 1 }
                rest &= rest - 1
            }
        }
        var start = graph.nodes.count
        for (index, node) in graph.nodes.enumerated() where prefixes.contains(where: { modulePath(node.module, isWithin: $0) }) {
            start = index
            break
        }
        for index in start..<graph.nodes.count { masks[index] = 0 }
        let merged = MergedComputations.find(in: graph) { module in prefixes.firstIndex { modulePath(module, isWithin: $0) } }
        for index in start..<graph.nodes.count {
            let node = graph.nodes[index]
            var inherited: UInt64 = 0
            for input in node.inputs {
                if case .value(let v) = input, let producer = graph.values[v.index].producer, producer.index >= start {
                    inherited |= masks[producer.index]
                }
            }
            var own: UInt64 = 0
            // In-place ops pass their input on as the same tensor; inplace-hazard judges them.
            if node.module.hasPrefix(candidate.parent), !merged[index], !node.inplace {
                for (i, prefix) in prefixes.enumerated() where modulePath(node.module, isWithin: prefix) {
                    own = 1 << UInt64(i)
                    break
                }
            }
            let mask = inherited | own
            masks[index] = mask
            if mask.nonzeroBitCount >= 2 && (own != 0 || !rearrangingOps.contains(node.op)) {
                merge(mask)
                if classes <= 1 { return [] }
            }
        }
        var size = [Int](repeating: 0, count: prefixes.count)
        for i in 0..<prefixes.count { size[find(i)] += 1 }
        return prefixes.indices.filter { size[find($0)] == 1 }.map { prefixes[$0] }
    }
}
