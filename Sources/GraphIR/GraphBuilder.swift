/// Appends values, storages and nodes to a graph while maintaining producer, uses, readers and writers.
/// Frontends build graphs only through this, so the use-def lists are correct by construction and
/// `verify()` checks what a frontend could still get wrong (order, uniqueness, dangling handles).
public struct GraphBuilder {
    public private(set) var graph: Graph

    public init(name: String, mode: Mode) {
        graph = Graph(name: name, mode: mode)
    }

    @discardableResult
    public mutating func addValue(id: String, shape: [Int]?, dtype: DType?) -> ValueID {
        graph.values.append(Value(id: id, shape: shape, dtype: dtype))
        return ValueID(graph.values.count - 1)
    }

    @discardableResult
    public mutating func addStorage(_ storage: Storage) -> StorageID {
        var storage = storage
        storage.readers = []
        storage.writers = []
        graph.storages.append(storage)
        return StorageID(graph.storages.count - 1)
    }

    /// Room for this many elements up front: a frontend that can estimate them spares the doubling copies
    /// of arrays of a million elements (and the page faults of each new copy). Unused room is never touched.
    public mutating func reserveCapacity(nodes: Int, values: Int, storages: Int) {
        graph.nodes.reserveCapacity(nodes)
        graph.values.reserveCapacity(values)
        graph.storages.reserveCapacity(storages)
    }

    public mutating func addInput(_ value: ValueID) { graph.inputs.append(value) }
    public mutating func addOutput(_ value: ValueID) { graph.outputs.append(value) }
    public mutating func setModules(_ modules: [ModuleInfo]) { graph.modules = modules }
    public mutating func setStorageIdentity(_ identity: StorageIdentity) { graph.storageIdentity = identity }
    public mutating func setRecordsSavedTensors(_ records: Bool) { graph.recordsSavedTensors = records }

    /// Appends `node`; its operands must already exist. A value that already has a producer keeps its
    /// first one, and `verify()` reports the second.
    @discardableResult
    public mutating func addNode(_ node: Node) -> NodeID {
        let id = NodeID(graph.nodes.count)
        for (index, operand) in node.inputs.enumerated() {
            switch operand {
            case .value(let v) where v.index < graph.values.count:
                graph.values[v.index].uses.append(Use(node: id, index: index))
            case .storage(let s) where s.index < graph.storages.count:
                if graph.storages[s.index].readers.last != id { graph.storages[s.index].readers.append(id) }
            default:
                break
            }
        }
        let indexOrMask = node.properties.contains(.indexOrMaskResults)
        for v in node.outputs where v.index < graph.values.count && graph.values[v.index].producer == nil {
            graph.values[v.index].producer = id
            if indexOrMask && graph.values[v.index].dtype == nil { graph.values[v.index].carriesGradient = false }
        }
        for s in node.writes where s.index < graph.storages.count {
            graph.storages[s.index].writers.append(id)
        }
        graph.nodes.append(node)
        return id
    }

    public func finish() -> Graph { graph }
}
