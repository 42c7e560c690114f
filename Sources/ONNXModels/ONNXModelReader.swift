import FormatSupport
import GraphIR
import SwiftProtobuf

/// Reads an ONNX model (`ModelProto`) into the IR. Weight bytes are never read: the generated types leave
/// out every tensor-data field, and unknown fields are discarded rather than kept, so a model's raw_data is
/// skipped without a copy and external data files are never opened.
public enum ONNXModelReader {
    public static func isONNXFileName(_ name: String) -> Bool { name.lowercased().hasSuffix(".onnx") }

    /// Whether `bytes` start with the tag of a ModelProto field (ir_version, producer, graph, opset_import,
    /// metadata, functions, …): a protobuf ModelProto whatever the file is called. JSON starts otherwise.
    public static func startsLikeModel(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first else { return false }
        return [0x08, 0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA].contains(first)
    }

    public static func read(_ bytes: [UInt8]) throws(InputError) -> Graph {
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: bytes, options: options)
        } catch {
            throw InputError(location: "byte 0", message: "not a readable ONNX model: the protobuf is truncated or corrupted (\(error))")
        }
        guard model.hasGraph else { throw InputError(message: "the ONNX model has no graph") }
        return try ONNXGraphImporter(model).importGraph()
    }
}

/// One node after model-local functions are expanded.
struct ONNXNode {
    var name: String
    var domain: String
    var opType: String
    var inputs: [String]
    var outputs: [String]
    var module: String?
    var moduleType: String
}

struct ONNXGraphImporter {
    static let maxFunctionDepth = 16

    let model: Onnx_ModelProto

    init(_ model: Onnx_ModelProto) { self.model = model }

    func importGraph() throws(InputError) -> Graph {
        let g = model.graph
        var builder = GraphBuilder(name: g.name.isEmpty ? (model.producerName.isEmpty ? "model" : model.producerName) : g.name, mode: .eval)
        builder.setStorageIdentity(.name)

        var storageOf: [String: StorageID] = [:]
        for (i, tensor) in g.initializer.enumerated() {
            guard !tensor.name.isEmpty else { throw InputError(location: "initializer \(i)", message: "an initializer has no name") }
            guard storageOf[tensor.name] == nil else { throw InputError(location: "initializer '\(tensor.name)'", message: "initializer name used twice") }
            let attribute = tensor.name.split(separator: ".").last.map(String.init) ?? tensor.name
            storageOf[tensor.name] = builder.addStorage(Storage(
                id: "s\(storageOf.count)", kind: RunningStatistics.names.contains(attribute) ? .buffer : .parameter,
                names: [tensor.name], shape: tensor.dims.map { Int(clamping: $0) }, dtype: dtypeName(tensor.dataType)))
        }
        var shapes: [String: [Int]] = [:]
        var dtypes: [String: DType] = [:]
        for info in g.input + g.output + g.valueInfo {
            guard case .tensorType(let tensor)? = info.type.value else { continue }
            dtypes[info.name] = dtypeName(tensor.elemType)
            if tensor.hasShape {
                let dims = tensor.shape.dim.map { dim -> Int? in if case .dimValue(let v)? = dim.value, v >= 0 { return Int(clamping: v) } else { return nil } }
                if dims.allSatisfy({ $0 != nil }) { shapes[info.name] = dims.map { $0! } }
            }
        }
        var valueOf: [String: ValueID] = [:]
        for input in g.input where storageOf[input.name] == nil {
            let v = builder.addValue(id: "v\(builder.graph.values.count)", shape: shapes[input.name], dtype: dtypes[input.name])
            valueOf[input.name] = v
            builder.addInput(v)
        }

        let nodes = try ordered(try expanded(), produced: Set(valueOf.keys), storages: storageOf)
        // An Identity that only forwards an initializer is that initializer under another name.
        var alias: [String: StorageID] = [:]
        var modules: [String] = []
        var moduleTypes: [String: String] = [:]
        for node in nodes {
            if node.opType == "Identity", let source = node.inputs.first, let s = storageOf[source] ?? alias[source], node.outputs.count == 1 {
                alias[node.outputs[0]] = s
                continue
            }
            var operands: [Operand] = []
            var readNames: [String] = []
            for input in node.inputs where !input.isEmpty {
                if let s = storageOf[input] ?? alias[input] {
                    operands.append(.storage(s))
                    readNames.append(builder.graph.storages[s.index].names[0])
                } else if let v = valueOf[input] {
                    operands.append(.value(v))
                }
            }
            var outputs: [ValueID] = []
            for output in node.outputs where !output.isEmpty {
                let v = builder.addValue(id: "v\(builder.graph.values.count)", shape: shapes[output], dtype: dtypes[output])
                valueOf[output] = v
                outputs.append(v)
            }
            let path = node.module ?? readNames.first.map { String(ModulePath.split(tensor: $0).module) } ?? ""
            if !path.isEmpty && moduleTypes[path] == nil {
                modules.append(path)
                moduleTypes[path] = node.moduleType
            }
            let weightRank = readNames.first.flatMap { storageOf[$0] }.flatMap { builder.graph.storages[$0.index].shape?.count }
            builder.addNode(Node(
                id: "n\(builder.graph.nodes.count)", op: canonical(node.opType, weightRank: weightRank, readsInitializer: !readNames.isEmpty),
                module: path, moduleType: node.moduleType, inputs: operands, outputs: outputs,
                attributes: [("onnx", .string(node.opType))]))
        }
        for (i, output) in g.output.enumerated() {
            guard let v = valueOf[output.name] else {
                throw InputError(location: "graph output \(i) '\(output.name)'", message: "no node produces it and it is not a graph input")
            }
            builder.addOutput(v)
        }
        var graph = builder.finish()
        graph.modules = [ModuleInfo(path: "", type: graph.name)]
            + modules.filter { !(moduleTypes[$0] ?? "").isEmpty }.map { ModuleInfo(path: $0, type: moduleTypes[$0]!) }
        return graph
    }

    /// The graph's nodes with calls of model-local functions replaced by the functions' bodies, each
    /// body's internal names prefixed by the call's name so they stay unique.
    private func expanded() throws(InputError) -> [ONNXNode] {
        var functions: [String: Onnx_FunctionProto] = [:]
        for function in model.functions { functions[function.domain + "::" + function.name] = function }
        var result: [ONNXNode] = []
        func expand(_ node: ONNXNode, depth: Int) throws(InputError) {
            guard let function = functions[node.domain + "::" + node.opType] else {
                result.append(node)
                return
            }
            guard depth < Self.maxFunctionDepth else {
                throw InputError(location: "node '\(node.name)'", message: "model-local functions nest deeper than \(Self.maxFunctionDepth) (recursive?)")
            }
            var rename: [String: String] = [:]
            for (formal, actual) in zip(function.input, node.inputs) { rename[formal] = actual }
            for (formal, actual) in zip(function.output, node.outputs) { rename[formal] = actual }
            for inner in function.node {
                let mapped = ONNXNode(
                    name: node.name + "/" + inner.name, domain: inner.domain, opType: inner.opType,
                    inputs: inner.input.map { $0.isEmpty ? "" : rename[$0] ?? node.name + "/" + $0 },
                    outputs: inner.output.map { $0.isEmpty ? "" : rename[$0] ?? node.name + "/" + $0 },
                    module: node.module, moduleType: node.moduleType)
                try expand(mapped, depth: depth + 1)
            }
        }
        var torchScriptScopes: TorchScriptScopes?
        for node in model.graph.node {
            var scopes: String?, classes: String?
            for entry in node.metadataProps {
                switch entry.key {
                case "pkg.torch.onnx.name_scopes": scopes = entry.value
                case "pkg.torch.onnx.class_hierarchy": classes = entry.value
                default: break
                }
            }
            let scope = ONNXScope.fromMetadata(scopes: scopes, classes: classes)
            var module = scope?.path
            if module == nil, node.name.hasPrefix("/") {
                if torchScriptScopes == nil {
                    torchScriptScopes = TorchScriptScopes(nodes: model.graph.node.map { ($0.name, $0.input) }, tensorNames: model.graph.initializer.map(\.name))
                }
                module = torchScriptScopes!.modulePath(ofNode: node.name)
            }
            try expand(ONNXNode(
                name: node.name, domain: node.domain, opType: node.opType, inputs: node.input, outputs: node.output,
                module: module, moduleType: scope?.type ?? ""), depth: 0)
        }
        return result
    }

    /// Nodes in dependency order (ONNX requires it, not every file obeys), checking that every input is
    /// produced, an initializer or a graph input.
    private func ordered(_ nodes: [ONNXNode], produced: Set<String>, storages: [String: StorageID]) throws(InputError) -> [ONNXNode] {
        var producer: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                guard producer[output] == nil, !produced.contains(output), storages[output] == nil else {
                    throw InputError(location: "node '\(node.name)'", message: "output '\(output)' is produced more than once")
                }
                producer[output] = i
            }
        }
        var inOrder = true  // as ONNX requires: then there is nothing to sort
        for (i, node) in nodes.enumerated() {
            for (k, input) in node.inputs.enumerated() where !input.isEmpty {
                if let p = producer[input] {
                    inOrder = inOrder && p < i
                } else if !produced.contains(input) && storages[input] == nil {
                    throw InputError(
                        location: "node '\(node.name)' input \(k)",
                        message: "'\(input)' is not produced by any node, not an initializer and not a graph input")
                }
            }
        }
        if inOrder { return nodes }
        switch TopologicalOrder.sort(Array(nodes.indices), dependencies: { nodes[$0].inputs.compactMap { producer[$0] } }) {
        case .success(let order): return order.map { nodes[$0] }
        case .failure(let cycle):
            throw InputError(location: "node '\(nodes[cycle.item].name)'", message: "the graph has a cycle through this node")
        }
    }

    private func canonical(_ op: String, weightRank: Int?, readsInitializer: Bool) -> String {
        switch op {
        case "Conv":
            switch weightRank ?? 4 {
            case 3: return "conv1d"
            case 4: return "conv2d"
            case 5: return "conv3d"
            default: return "conv"
            }
        case "BatchNormalization": return "batch_norm"
        case "Gemm": return "linear"
        case "MatMul": return readsInitializer ? "linear" : "matmul"
        case "Concat": return "cat"
        case "MaxPool": return "max_pool2d"
        case "AveragePool": return "avg_pool2d"
        case "GlobalAveragePool": return "adaptive_avg_pool2d"
        case "LayerNormalization": return "layer_norm"
        case "Gather": return readsInitializer ? "embedding" : "gather"
        default:
            var snake: [UInt8] = []
            snake.reserveCapacity(op.utf8.count + 4)
            for (i, c) in op.utf8.enumerated() {
                if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") {
                    if i > 0 { snake.append(UInt8(ascii: "_")) }
                    snake.append(c + 32)
                } else {
                    snake.append(c)
                }
            }
            return String(decoding: snake, as: UTF8.self)
        }
    }

    private func dtypeName(_ code: Int32) -> DType? {
        switch code {
        case 1: return .float32
        case 2: return .uint8
        case 3: return .int8
        case 5: return .int16
        case 6: return .int32
        case 7: return .int64
        case 9: return .bool
        case 10: return .float16
        case 11: return .float64
        case 16: return .bfloat16
        default: return nil
        }
    }
}
