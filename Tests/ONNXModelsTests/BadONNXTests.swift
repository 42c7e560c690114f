import Foundation
import GraphCheck
import GraphIR
import Testing
import TestSupport

@testable import ONNXModels
import FormatSupport

/// Hand-made models for what exporters do not write: aliases, functions, and broken graphs.
@Suite struct BadONNXTests {
    func node(_ name: String, _ op: String, _ inputs: [String], _ outputs: [String], domain: String = "") -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.name = name
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.domain = domain
        return n
    }

    func model(_ nodes: [Onnx_NodeProto], outputs: [String] = ["y"], functions: [Onnx_FunctionProto] = []) throws -> [UInt8] {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var weight = Onnx_TensorProto()
        weight.name = "fc.weight"
        weight.dims = [2, 2]
        weight.dataType = 1
        m.graph.initializer = [weight]
        var x = Onnx_ValueInfoProto()
        x.name = "x"
        m.graph.input = [x]
        m.graph.output = outputs.map { var o = Onnx_ValueInfoProto(); o.name = $0; return o }
        m.graph.node = nodes
        m.functions = functions
        return try m.serializedBytes()
    }

    func load(_ bytes: [UInt8]) throws -> Graph { try ONNXModelReader.read(bytes) }

    func error(_ bytes: [UInt8]) -> InputError? {
        do { _ = try ONNXModelReader.read(bytes); return nil } catch { return error }
    }

    @Test func identityOfAnInitializerIsThatInitializer() throws {
        let graph = try load(try model([node("/fc/Identity", "Identity", ["fc.weight"], ["w"]), node("/fc/MatMul", "MatMul", ["x", "w"], ["y"])]))
        #expect(graph.nodes.map(\.op) == ["linear"])
        #expect(graph.nodes[0].storageInputs == [StorageID(0)])
        #expect(graph.nodes[0].module == "fc")
    }

    /// Weights stored in an external file (absent here) are never looked for.
    @Test func externalDataIsNeverRead() throws {
        var m = Onnx_ModelProto()
        var weight = Onnx_TensorProto()
        weight.name = "fc.weight"
        weight.dims = [1024, 1024]
        weight.dataType = 1
        weight.dataLocation = 1  // EXTERNAL
        m.graph.initializer = [weight]
        var x = Onnx_ValueInfoProto()
        x.name = "x"
        m.graph.input = [x]
        var y = Onnx_ValueInfoProto()
        y.name = "y"
        m.graph.output = [y]
        m.graph.node = [node("/fc/MatMul", "MatMul", ["x", "fc.weight"], ["y"])]
        let graph = try load(try m.serializedBytes())
        #expect(graph.storages.map(\.shape) == [[1024, 1024]])
    }

    @Test func modelLocalFunctionsAreExpanded() throws {
        var function = Onnx_FunctionProto()
        function.name = "Block"
        function.domain = "local"
        function.input = ["a"]
        function.output = ["b"]
        function.node = [node("relu", "Relu", ["a"], ["t"]), node("neg", "Neg", ["t"], ["b"])]
        let graph = try load(try model([node("/block/call", "Block", ["x"], ["y"], domain: "local")], functions: [function]))
        #expect(graph.nodes.map(\.op) == ["relu", "neg"])
        #expect(graph.nodes.allSatisfy { $0.module == "block" })
    }

    @Test func nodesOutOfOrderAreSorted() throws {
        let graph = try load(try model([node("b", "Relu", ["t"], ["y"]), node("a", "Relu", ["x"], ["t"])]))
        #expect(graph.nodes.map { $0.attributes.first?.value } == [.string("Relu"), .string("Relu")])
        #expect(graph.verify().isEmpty)
    }

    @Test func danglingInputIsLocated() throws {
        let e = error(try model([node("/a/Relu", "Relu", ["nowhere"], ["y"])]))
        #expect(e?.location == "node '/a/Relu' input 0")
        #expect(e?.message.contains("'nowhere' is not produced by any node") == true)
    }

    @Test func cycleIsAnError() throws {
        let e = error(try model([node("a", "Relu", ["y"], ["t"]), node("b", "Relu", ["t"], ["y"])]))
        #expect(e?.message == "the graph has a cycle through this node")
    }

    @Test func outputWithoutAProducer() throws {
        let e = error(try model([node("a", "Relu", ["x"], ["t"])], outputs: ["y"]))
        #expect(e?.location == "graph output 0 'y'")
    }

    @Test func truncatedAndGarbageBytes() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Repository.path("Tests/Fixtures/torch/onnx/list_heads.torchscript.onnx"))))
        #expect(error(Array(bytes.prefix(bytes.count / 2)))?.message.contains("truncated or corrupted") == true)
        #expect(error(Array(repeating: 0xFF, count: 64))?.message.contains("truncated or corrupted") == true)
        #expect(error([])?.message == "the ONNX model has no graph")
    }
}
