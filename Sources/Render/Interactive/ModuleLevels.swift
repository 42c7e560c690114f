import GraphIR

/// The model as nested levels, the unit the HTML view lays out and opens: one level per module that holds
/// two or more ops (a module with one op is drawn as that op), plus the root. A level's items are its
/// direct ops and its child modules, closed; values that cross its border are ports. Each level is laid
/// out by Graphviz once, on its own, so opening a module never lays out anything again — the browser
/// composes the precomputed levels.
struct ModuleLevels {
    enum Item: Hashable {
        case op(Int)
        /// A child level, drawn closed.
        case level(Int)
        /// A value entering the level from outside (at the root: a graph input).
        case enters(Int)
        /// A value leaving the level (at the root: a graph output).
        case leaves(Int)
    }

    struct Edge {
        var from: Int
        var to: Int
        /// Values (`ValueID.index`) this edge carries, in the order first seen.
        var values: [Int]
    }

    struct Level {
        /// Module path; "" for the root.
        var path: String
        var parent: Int?
        var depth: Int
        var items: [Item] = []
        var edges: [Edge] = []
        var ops = 0
        var itemIndex: [Item: Int] = [:]
        var edgeIndex: [[Int]: Int] = [:]

        mutating func item(_ item: Item) -> Int {
            if let known = itemIndex[item] { return known }
            items.append(item)
            itemIndex[item] = items.count - 1
            return items.count - 1
        }

        mutating func connect(_ from: Item, _ to: Item, value: Int) {
            let (a, b) = (self.item(from), self.item(to))
            guard a != b else { return }
            if let e = edgeIndex[[a, b]] {
                if !edges[e].values.contains(value) { edges[e].values.append(value) }
            } else {
                edgeIndex[[a, b]] = edges.count
                edges.append(Edge(from: a, to: b, values: [value]))
            }
        }
    }

    var levels: [Level]
    /// The levels from the root down to the one that holds each op as an item.
    var chains: [[Int]]

    init(_ graph: Graph) {
        var opsUnder: [String: Int] = [:]
        for node in graph.nodes where !node.module.isEmpty {
            for path in prefixes(node.module) { opsUnder[path, default: 0] += 1 }
        }
        levels = [Level(path: "", parent: nil, depth: 0)]
        var levelOf: [String: Int] = ["": 0]
        chains = []
        chains.reserveCapacity(graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() {
            var chain = [0]
            for path in prefixes(node.module) where opsUnder[path, default: 0] >= 2 {
                if let known = levelOf[path] {
                    chain.append(known)
                } else {
                    levels.append(Level(path: path, parent: chain.last!, depth: chain.count))
                    levelOf[path] = levels.count - 1
                    chain.append(levels.count - 1)
                }
            }
            for (i, level) in chain.enumerated() {
                levels[level].ops += 1
                // Items appear in the order of the ops they hold: the order the model ran them.
                _ = levels[level].item(i + 1 < chain.count ? .level(chain[i + 1]) : .op(index))
            }
            chains.append(chain)
        }
        let isInput = Set(graph.inputs.map(\.index))
        for (index, node) in graph.nodes.enumerated() {
            for v in node.valueInputs {
                if let p = graph[v].producer {
                    connect(value: v.index, producer: p.index, consumer: index)
                } else if isInput.contains(v.index) {
                    enter(value: v.index, chain: chains[index], from: .enters(v.index), to: index)
                }
            }
        }
        for output in graph.outputs {
            if let p = graph[output].producer {
                leave(value: output.index, chain: chains[p.index], from: p.index, to: .leaves(output.index))
            } else if isInput.contains(output.index) {
                levels[0].connect(.enters(output.index), .leaves(output.index), value: output.index)
            }
        }
    }

    /// The item that stands for `op` in the level at `position` of its chain.
    func item(op: Int, at position: Int) -> Item {
        let chain = chains[op]
        return position + 1 < chain.count ? .level(chain[position + 1]) : .op(op)
    }

    /// An edge in the deepest level holding both ops, a port edge in every level below it on either side.
    private mutating func connect(value: Int, producer: Int, consumer: Int) {
        let (pc, cc) = (chains[producer], chains[consumer])
        var common = 0
        while common < pc.count, common < cc.count, pc[common] == cc[common] { common += 1 }
        let shared = common - 1
        levels[pc[shared]].connect(item(op: producer, at: shared), item(op: consumer, at: shared), value: value)
        for position in common..<pc.count { levels[pc[position]].connect(item(op: producer, at: position), .leaves(value), value: value) }
        for position in common..<cc.count { levels[cc[position]].connect(.enters(value), item(op: consumer, at: position), value: value) }
    }

    /// A graph input reaching `consumer`: from the root's input item down through every level on the way.
    private mutating func enter(value: Int, chain: [Int], from: Item, to consumer: Int) {
        levels[0].connect(from, item(op: consumer, at: 0), value: value)
        for position in 1..<max(chain.count, 1) {
            levels[chain[position]].connect(.enters(value), item(op: consumer, at: position), value: value)
        }
    }

    /// A graph output leaving `producer`: through every level on the way up to the root's output item.
    private mutating func leave(value: Int, chain: [Int], from producer: Int, to: Item) {
        levels[0].connect(item(op: producer, at: 0), to, value: value)
        for position in 1..<max(chain.count, 1) {
            levels[chain[position]].connect(item(op: producer, at: position), .leaves(value), value: value)
        }
    }
}
