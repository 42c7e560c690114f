import GraphIR
import Testing

@Suite struct GraphBuilderTests {
    /// x → relu → linear(weight) → y, with weight a parameter.
    func smallGraph() -> Graph {
        var b = GraphBuilder(name: "m", mode: .train)
        let x = b.addValue(id: "x", shape: [2, 4], dtype: "float32")
        let h = b.addValue(id: "h", shape: [2, 4], dtype: "float32")
        let y = b.addValue(id: "y", shape: [2, 3], dtype: "float32")
        let w = b.addStorage(Storage(id: "w", kind: .parameter, names: ["fc.weight", "head.fc.weight"], shape: [3, 4], dtype: "float32"))
        b.addInput(x)
        b.addNode(Node(id: "n0", op: "relu", module: "act", moduleType: "ReLU", inputs: [.value(x)], outputs: [h], inplace: true))
        b.addNode(Node(id: "n1", op: "linear", module: "fc", moduleType: "Linear", inputs: [.value(h), .storage(w)], outputs: [y]))
        b.addOutput(y)
        return b.finish()
    }

    @Test func useDefListsRunBothWays() {
        let g = smallGraph()
        #expect(g.verify().isEmpty)
        #expect(g.values[1].producer == NodeID(0))
        #expect(g.values[1].uses == [Use(node: NodeID(1), index: 0)])
        #expect(g.values[0].producer == nil)
        #expect(g.storages[0].readers == [NodeID(1)])
        #expect(g.storages[0].attributeName == "weight")
        #expect(g.nodes[1].storageInputs == [StorageID(0)])
        #expect(g.nodes[1].valueInputs == [ValueID(1)])
    }

    @Test func verifyReportsUseBeforeDefinition() {
        var b = GraphBuilder(name: "m", mode: .train)
        let x = b.addValue(id: "x", shape: nil, dtype: nil)
        let y = b.addValue(id: "y", shape: nil, dtype: nil)
        b.addNode(Node(id: "n0", op: "relu", module: "", moduleType: "", inputs: [.value(x)], outputs: [y]))
        b.addOutput(y)
        #expect(b.finish().verify() == [GraphProblem(element: "node 'n0'", message: "uses value 'x' before it is produced")])
    }

    @Test func verifyReportsDuplicateIdsAndDoubleProduction() {
        var b = GraphBuilder(name: "m", mode: .train)
        let x = b.addValue(id: "x", shape: nil, dtype: nil)
        let y = b.addValue(id: "x", shape: nil, dtype: nil)
        b.addInput(x)
        b.addNode(Node(id: "n0", op: "relu", module: "", moduleType: "", inputs: [.value(x)], outputs: [y]))
        b.addNode(Node(id: "n1", op: "relu", module: "", moduleType: "", inputs: [.value(x)], outputs: [y]))
        let problems = b.finish().verify()
        #expect(problems.contains(GraphProblem(element: "value 'x'", message: "id already used by a value")))
        #expect(problems.contains(GraphProblem(element: "node 'n1'", message: "value 'x' is produced more than once")))
    }

    @Test func verifyReportsDanglingHandlesAndUndefinedOutputs() {
        var b = GraphBuilder(name: "m", mode: .train)
        let x = b.addValue(id: "x", shape: nil, dtype: nil)
        let y = b.addValue(id: "y", shape: nil, dtype: nil)
        b.addInput(x)
        b.addNode(Node(id: "n0", op: "linear", module: "", moduleType: "", inputs: [.value(x), .storage(StorageID(7))], outputs: [ValueID(9)]))
        b.addOutput(y)
        let problems = b.finish().verify().map(\.message)
        #expect(problems.contains("storage handle 7 out of range"))
        #expect(problems.contains("output value handle 9 out of range"))
        #expect(problems.contains("value 'y' is never produced"))
    }

    @Test(arguments: [("a.b", "a", true), ("a", "a", true), ("ab", "a", false), ("x", "", true), ("a", "a.b", false)])
    func modulePathsNestByComponent(path: String, prefix: String, within: Bool) {
        #expect(modulePath(path, isWithin: prefix) == within)
    }
}
