import FormatSupport
import Testing

@Suite struct TopologicalOrderTests {
    func sort(_ items: [Int], _ edges: [Int: [Int]]) -> [Int]? {
        try? TopologicalOrder.sort(items, dependencies: { edges[$0] ?? [] }).get()
    }

    @Test func anOrderedListComesBackUnchanged() {
        #expect(sort([0, 1, 2, 3], [1: [0], 2: [1], 3: [0, 2]]) == [0, 1, 2, 3])
    }

    @Test func tiesGoToTheSmallestIndexAndDependenciesFirst() {
        // 0 needs 3; 1 and 2 need nothing: 1, 2, 3 are ready in index order, 0 once 3 is out.
        #expect(sort([0, 1, 2, 3], [0: [3]]) == [1, 2, 3, 0])
    }

    @Test func itemsOutsideTheListAreIgnored() {
        #expect(sort([2, 5], [5: [2, 4], 2: [9]]) == [2, 5])
    }

    @Test func aCycleNamesAnItemOnIt() {
        let result = TopologicalOrder.sort([0, 1, 2], dependencies: { [0: [2], 1: [0], 2: [1]][$0] ?? [] })
        guard case .failure(let cycle) = result else { Issue.record("no cycle found"); return }
        #expect([0, 1, 2].contains(cycle.item))
        #expect(sort([0], [0: [0]]) == nil, "an item that needs itself")
    }
}
