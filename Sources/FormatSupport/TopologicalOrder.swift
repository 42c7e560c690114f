import HeapModule

/// Kahn's algorithm with ties broken by index, smallest first: the order is deterministic, and a list
/// already in order comes back unchanged. Frontends whose files do not list ops in execution order
/// (GraphDef, ONNX) use it; the ready set is a heap, so a wide graph costs n log n, not n².
public enum TopologicalOrder {
    /// `items` (indices) in an order where each comes after every item of `dependencies(item)` (indices
    /// outside `items` are ignored). On a cycle, the error names an item on it or behind it.
    public static func sort(_ items: [Int], dependencies: (Int) -> [Int]) -> Result<[Int], Cycle> {
        let size = (items.max() ?? -1) + 1
        var member = [Bool](repeating: false, count: size)
        for item in items { member[item] = true }
        var waiting = [Int](repeating: 0, count: size)
        var dependents = [[Int]](repeating: [], count: size)
        for item in items {
            for dependency in Set(dependencies(item)) where dependency >= 0 && dependency < size && member[dependency] {
                dependents[dependency].append(item)
                waiting[item] += 1
            }
        }
        var ready = Heap(items.filter { waiting[$0] == 0 })
        var result: [Int] = []
        result.reserveCapacity(items.count)
        while let next = ready.popMin() {
            result.append(next)
            for dependent in dependents[next] {
                waiting[dependent] -= 1
                if waiting[dependent] == 0 { ready.insert(dependent) }
            }
        }
        guard result.count == items.count else {
            return .failure(Cycle(item: items.first { waiting[$0] > 0 }!))
        }
        return .success(result)
    }

    public struct Cycle: Error {
        public let item: Int
    }
}
