/// A broken invariant, naming the element so that a bad trace file can be fixed.
public struct GraphProblem: Error, CustomStringConvertible, Equatable, Sendable {
    public var element: String
    public var message: String
    public var description: String { "\(element): \(message)" }

    public init(element: String, message: String) {
        self.element = element
        self.message = message
    }
}

extension Graph {
    /// Checks the invariants every frontend's output must satisfy: ids unique across nodes, values and
    /// storages; every handle in range; every value produced at most once and defined before it is used;
    /// graph outputs defined. Returns the problems in graph order (empty when the graph is sound).
    /// `checkingIDs: false` is for a frontend that has rejected repeated ids itself, where they stand in
    /// the file: hashing a million ids a second time is a tenth of reading a large trace.
    public func verify(checkingIDs: Bool = true) -> [GraphProblem] {
        var problems: [GraphProblem] = []
        var seen = Set<String>(minimumCapacity: checkingIDs ? values.count + storages.count + nodes.count : 0)
        func claim(_ id: String, _ what: String) {
            if seen.insert(id).inserted || problems.count >= 100 { return }
            // Rare (and capped, so a file of a million equal ids is not quadratic): what had it first.
            let previous = values.contains { $0.id == id } ? "value" : storages.contains { $0.id == id } ? "storage" : "node"
            problems.append(GraphProblem(element: "\(what) '\(id)'", message: "id already used by a \(previous)"))
        }
        if checkingIDs {
            for value in values { claim(value.id, "value") }
            for storage in storages { claim(storage.id, "storage") }
            for node in nodes { claim(node.id, "node") }
        }

        var defined = [Bool](repeating: false, count: values.count)
        for input in inputs {
            guard input.index < values.count else {
                problems.append(GraphProblem(element: "graph inputs", message: "value handle \(input.index) out of range"))
                continue
            }
            defined[input.index] = true
        }
        for (index, node) in nodes.enumerated() {
            var element: String { "node '\(node.id)'" }  // made only for a problem
            for operand in node.inputs {
                switch operand {
                case .value(let v):
                    if v.index >= values.count {
                        problems.append(GraphProblem(element: element, message: "input value handle \(v.index) out of range"))
                    } else if !defined[v.index] {
                        problems.append(GraphProblem(element: element, message: "uses value '\(values[v.index].id)' before it is produced"))
                    }
                case .storage(let s):
                    if s.index >= storages.count {
                        problems.append(GraphProblem(element: element, message: "storage handle \(s.index) out of range"))
                    }
                }
            }
            for s in node.writes where s.index >= storages.count {
                problems.append(GraphProblem(element: element, message: "written storage handle \(s.index) out of range"))
            }
            for v in node.outputs {
                guard v.index < values.count else {
                    problems.append(GraphProblem(element: element, message: "output value handle \(v.index) out of range"))
                    continue
                }
                if defined[v.index] || values[v.index].producer != NodeID(index) {
                    problems.append(GraphProblem(element: element, message: "value '\(values[v.index].id)' is produced more than once"))
                }
                defined[v.index] = true
            }
        }
        // Overlapping memory is one tensor as far as sharing goes: a producer must not list it twice.
        var spans: [String: [(Range<Int>, String)]] = [:]
        for storage in storages {
            guard let memory = storage.memory else { continue }
            if let other = spans[memory.block]?.first(where: { $0.0.overlaps(memory.bytes) }) {
                problems.append(GraphProblem(
                    element: "storage '\(storage.id)'",
                    message: "its bytes \(memory.bytes.lowerBound)..<\(memory.bytes.upperBound) of block '\(memory.block)' overlap storage '\(other.1)': overlapping memory is one storage"))
            }
            spans[memory.block, default: []].append((memory.bytes, storage.id))
        }
        for output in outputs {
            if output.index >= values.count || !defined[output.index] {
                let name = output.index < values.count ? values[output.index].id : "#\(output.index)"
                problems.append(GraphProblem(element: "graph outputs", message: "value '\(name)' is never produced"))
            }
        }
        return problems
    }
}
