import GraphCheck
import GraphIR
import Testing
import TestSupport

/// PyTorch's object semantics, as the spec expresses them: refs alias, copies are deep, slices are new
/// containers around the same children, and ops are named after the path they were called through.
@Suite struct SemanticsTests {
    func model(lets: String = "", children: String, body: String, outputs: String = #"["y"]"#, inputs: String = #"[{"name": "x", "shape": [2, 4]}]"#) -> String {
        """
        {"format": "graphcheck.model", "version": 1, "let": {\(lets)},
         "model": {"type": "Module", "class": "M", "children": {\(children)},
                   "forward": {"inputs": ["x"], "body": [\(body)], "outputs": \(outputs)}},
         "inputs": \(inputs)}
        """
    }

    func names(_ graph: Graph) -> [[String]] { graph.storages.map(\.names) }

    @Test func refsAliasAndCopiesDoNot() throws {
        let lets = #""fc": {"type": "Linear", "in_features": 4, "out_features": 4, "bias": false}"#
        let body = #"{"out": "a", "call": "p", "args": ["x"]}, {"out": "b", "call": "q", "args": ["a"]}, {"out": "y", "call": "r", "args": ["b"]}"#
        let graph = try Repository.trace(model(lets: lets, children: #""p": {"ref": "fc"}, "q": {"ref": "fc"}, "r": {"copy": "fc"}"#, body: body)).graph
        #expect(names(graph) == [["p.weight", "q.weight"], ["r.weight"]])
        #expect(graph.nodes.map(\.module) == ["p", "q", "r"])
    }

    @Test func deepCopyKeepsAliasingInsideTheCopy() throws {
        let lets = """
            "fc": {"type": "Linear", "in_features": 4, "out_features": 4},
            "pair": {"type": "Sequential", "children": {"first": {"ref": "fc"}, "second": {"ref": "fc"}}}
            """
        let graph = try Repository.trace(model(lets: lets, children: #""a": {"ref": "pair"}, "b": {"copy": "pair"}"#,
            body: #"{"out": "h", "call": "a", "args": ["x"]}, {"out": "y", "call": "b", "args": ["h"]}"#)).graph
        #expect(names(graph) == [
            ["a.first.weight", "a.second.weight"], ["a.first.bias", "a.second.bias"],
            ["b.first.weight", "b.second.weight"], ["b.first.bias", "b.second.bias"],
        ])
    }

    @Test func slicingMakesANewContainerAroundTheSameChildren() throws {
        let lets = """
            "seq": {"type": "Sequential", "children": [
              {"type": "Linear", "in_features": 4, "out_features": 4}, {"type": "ReLU"},
              {"type": "Linear", "in_features": 4, "out_features": 4}]}
            """
        let graph = try Repository.trace(model(lets: lets, children: #""head": {"ref": "seq[:-1]"}, "tail": {"ref": "seq[-1:]"}, "last": {"ref": "seq[2]"}"#,
            body: #"{"out": "h", "call": "head", "args": ["x"]}, {"out": "t", "call": "tail", "args": ["h"]}, {"out": "y", "call": "last", "args": ["t"]}"#)).graph
        // Slices keep the children's names ("0", "1" / "2"); indexing returns the child itself.
        #expect(names(graph) == [["head.0.weight"], ["head.0.bias"], ["tail.2.weight", "last.weight"], ["tail.2.bias", "last.bias"]])
        let instances = Dictionary(uniqueKeysWithValues: graph.modules.map { ($0.path, $0.instance!) })
        #expect(instances["tail.2"] == instances["last"])
        #expect(instances["head"] != instances["tail"])
    }

    @Test func moduleListEntriesAreCalledByIndexAndNamedByPosition() throws {
        let children = #""heads": {"type": "ModuleList", "children": [{"type": "Linear", "in_features": 4, "out_features": 1}, {"type": "Linear", "in_features": 4, "out_features": 2}]}"#
        let body = #"{"out": "a", "call": "heads[0]", "args": ["x"]}, {"out": "b", "call": "heads.1", "args": ["x"]}, {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}"#
        let graph = try Repository.trace(model(children: children, body: body)).graph
        #expect(graph.nodes.map(\.module) == ["heads.0", "heads.1", ""])
        #expect(graph.outputs.map { graph[$0].shape } == [[2, 3]])
    }

    @Test func functionalOpsInferShapes() throws {
        let body = """
            {"out": "u", "op": "unsqueeze", "args": ["x"], "dim": 1},
            {"out": "s", "op": "slice", "args": ["u"], "dim": 2, "start": 1, "end": -1},
            {"out": "v", "op": "view", "args": ["s"], "shape": [-1, 2]},
            {"out": "w", "op": "select", "args": ["v"], "dim": 1, "index": -1},
            {"out": "m", "op": "mul", "args": ["w", "w"]},
            {"out": "f", "op": "flatten", "args": ["u"]},
            {"out": "y", "op": "sub", "args": ["m", "m"]}
            """
        let graph = try Repository.trace(model(children: "", body: body, outputs: #"["y", "f"]"#)).graph
        #expect(graph.nodes.map { graph[$0.outputs[0]].shape! } == [[2, 1, 4], [2, 1, 2], [2, 2], [2], [2], [8], [2]])
    }

    @Test func inplaceOpsRebindEveryNameOfTheTensor() throws {
        let body = #"{"out": "alias", "op": "view", "args": ["x"], "shape": [2, 4]}, {"out": "r", "op": "relu", "args": ["alias"], "inplace": true}, {"out": "y", "op": "add", "args": ["alias", "r"]}"#
        let graph = try Repository.trace(model(children: "", body: body)).graph
        let relu = graph.nodes[1]
        #expect(relu.inplace)
        // After relu_(alias), "alias" is the mutated tensor, as in Python.
        #expect(graph.nodes[2].valueInputs == [relu.outputs[0], relu.outputs[0]])
    }

    @Test func embeddingAndLayerNormTakeTheirInputs() throws {
        let children = #""emb": {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 8}, "ln": {"type": "LayerNorm", "normalized_shape": 8}, "drop": {"type": "Dropout", "p": 0.1}, "id": {"type": "Identity"}"#
        let body = #"{"out": "e", "call": "emb", "args": ["x"]}, {"out": "n", "call": "ln", "args": ["e"]}, {"out": "d", "call": "drop", "args": ["n"]}, {"out": "y", "call": "id", "args": ["d"]}"#
        let graph = try Repository.trace(model(children: children, body: body, inputs: #"[{"name": "x", "shape": [2, 5], "dtype": "int64"}]"#)).graph
        #expect(graph.nodes.map(\.op) == ["embedding", "layer_norm", "dropout"])
        #expect(graph.outputs.map { graph[$0].shape } == [[2, 5, 8]])
    }
}
