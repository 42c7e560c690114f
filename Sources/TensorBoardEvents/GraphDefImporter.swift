import FormatSupport
import GraphIR

/// Maps the TorchScript graph in a GraphDef to graphcheck's IR.
///
/// What the format says, and what it does not:
/// - Ops are TorchScript nodes (`aten::batch_norm`, `aten::relu_`), one output each, shapes in
///   `_output_shapes` — except an op returning a list that `prim::ListUnpack` takes apart (`unsafe_chunk`
///   in GRUCell): TensorBoard writes a node per element, and each is an output of the op. Constants,
///   list/tuple constructs and scalar plumbing are seen through; an op's constant arguments (`dim`,
///   `index`, `dilation`) are kept as its `constants` attribute.
/// - A parameter or buffer is a `prim::GetAttr` chain; its identity is the attribute path the chain
///   resolves to. TorchScript names the tensors of a module used under several names after *one* of them,
///   so an op in `branch2` reads `branch1.…weight`: the op's own scope is its call site, and the tensor
///   also gets the name it has at that call site.
/// - Ops of a module reached through a ModuleList or ModuleDict lose the container from their scope
///   (`Sequential[0]` instead of `ModuleList[heads]/Sequential[0]`); the path of the parameters they read
///   restores it, for them and for the ops of the same call that read none (the nearest op in graph order
///   with that scope: `enc.0` and `dec.0` are both `Sequential[0]`).
/// - Not in the format, so not guessed: parameter vs buffer (inferred from the attribute name: BatchNorm's
///   running statistics are buffers), tensor shapes and dtypes of parameters, module object identity, and
///   `num_batches_tracked` updates. Running-statistic writes are recorded when the BatchNorm's `training`
///   argument is the constant 1 — which `add_graph` never writes: it traces the model in eval mode.
struct GraphDefImporter {
    let def: Tensorboard_GraphDef

    init(_ def: Tensorboard_GraphDef) { self.def = def }

    private static let seeThrough: Set<String> = ["prim::ListConstruct", "prim::TupleConstruct", "prim::DictConstruct", "prim::ListUnpack", "prim::TupleUnpack"]
    private static let batchNorms: Set<String> = ["aten::batch_norm", "aten::_batch_norm_impl_index", "aten::native_batch_norm"]

    private enum Role {
        case input, output, op, tensor(String), constant, passThrough, moduleObject
        /// One element of a list an op returned (`prim::ListUnpack` of `aten::unsafe_chunk`): an output of
        /// that op of its own, not the op's whole result.
        case element(of: Int)
        /// One element of a tuple or list the forward built: the node named, at its position.
        case picked(String)
    }

    func importGraph() throws(InputError) -> Graph {
        let nodes = def.node
        var index: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            guard index[node.name] == nil else { throw InputError(location: "node '\(node.name)'", message: "node name used twice in the GraphDef") }
            index[node.name] = i
        }
        // A GetAttr that feeds another GetAttr fetches a module; the last link of a chain fetches a tensor.
        var feedsGetAttr = Set<Int>()
        for node in nodes where node.op == "prim::GetAttr" {
            for input in node.input { if let i = index[input] { feedsGetAttr.insert(i) } }
        }
        // TensorBoard writes one node per element of an unpacked tuple or list, in order.
        var parts: [Int: Int] = [:]   // a tuple or list -> how many element nodes it has
        var position = [Int](repeating: 0, count: nodes.count)   // an element node -> its place among them
        for (i, node) in nodes.enumerated() where node.op == "prim::ListUnpack" || node.op == "prim::TupleUnpack" {
            guard node.input.count == 1, let list = index[node.input[0]] else { continue }
            position[i] = parts[list, default: 0]
            parts[list, default: 0] += 1
        }
        let scopes = nodes.map { TorchScriptScope(nodeName: $0.name) }
        let roles: [Role] = nodes.enumerated().map { i, node in
            switch node.op {
            case "IO Node": return node.name.hasPrefix("output") ? .output : .input
            case "prim::GetAttr":
                guard !feedsGetAttr.contains(i), let attribute = attributeField(stringAttribute(node, "attr"), "name") else { return .moduleObject }
                return .tensor(scopes[i].names.isEmpty ? attribute : scopes[i].path + "." + attribute)
            case "prim::Constant": return .constant
            case "prim::ListUnpack", "prim::TupleUnpack":
                guard node.input.count == 1, let list = index[node.input[0]] else { return .passThrough }
                // An element of a tuple the forward built (a submodule returning `(hidden, intermediate, boxes)`)
                // is the one value at its position, not the whole tuple: else every use of one element reads them all.
                if ["prim::TupleConstruct", "prim::ListConstruct"].contains(nodes[list].op), parts[list] == nodes[list].input.count {
                    return .picked(nodes[list].input[position[i]])
                }
                // Those of an op's list are that op's outputs.
                if !Self.seeThrough.contains(nodes[list].op),
                   !["IO Node", "prim::GetAttr", "prim::Constant", "prim::ListUnpack", "prim::TupleUnpack"].contains(nodes[list].op) {
                    return .element(of: list)
                }
                return .passThrough
            default: return Self.seeThrough.contains(node.op) ? .passThrough : .op
            }
        }
        var elements: [Int: [Int]] = [:]   // op -> its list's element nodes, in GraphDef order
        for (i, role) in roles.enumerated() { if case .element(let op) = role { elements[op, default: []].append(i) } }

        // Container names the op scopes lost, learned from the tensors the ops read: the scope's names are
        // the owner's in order, with some missing (a module called through an attribute chain from another
        // module's forward, `self.detr.model.encoder(…)`, is scoped `encoder`, and its `ModuleList[layers]`
        // is dropped too). Each scope prefix (`Type[name]`s) maps to the owner's path up to the same module.
        // The same scope can stand for several modules (`Sequential[0]` is `enc.0`, `dec.0` and `heads.0`),
        // so an op reading no tensor of its own (a ReLU) takes the mapping of the nearest op, in graph order,
        // that maps its scope: the same call's convolution or BatchNorm.
        var own: [Int: [String: [String]]] = [:]
        var mappedAt: [String: [(position: Int, path: [String])]] = [:]
        // Per op, its scope's prefixes as keys, outermost first: `Sequential[0]`, `Sequential[0]/ReLU[2]`.
        let keys: [[String]] = scopes.indices.map { i in
            guard isOp(roles[i]) else { return [] }
            var prefix = "", result: [String] = []
            for (type, name) in zip(scopes[i].types, scopes[i].names) {
                prefix += (prefix.isEmpty ? "" : "/") + type + "[" + name + "]"
                result.append(prefix)
            }
            return result
        }
        for (i, node) in nodes.enumerated() where isOp(roles[i]) {
            let scope = scopes[i].names
            var restored: [String: [String]] = [:]
            for tensor in tensorInputs(node, index, roles) {
                let owner = Array(tensor.split(separator: ".").dropLast().map(String.init))
                guard owner.count > scope.count, !scope.isEmpty, owner.last == scope.last else { continue }
                // Matched from the end: where each scope name is in the owner's path.
                var at = [Int](repeating: 0, count: scope.count)
                var o = owner.count - 1
                var matched = true
                for k in stride(from: scope.count - 1, through: 0, by: -1) {
                    while o >= 0 && owner[o] != scope[k] { o -= 1 }
                    guard o >= 0 else { matched = false; break }
                    at[k] = o
                    o -= 1
                }
                guard matched else { continue }
                for k in 1...scope.count { restored[keys[i][k - 1]] = Array(owner.prefix(at[k - 1] + 1)) }
            }
            guard !restored.isEmpty else { continue }
            own[i] = restored
            for (prefix, path) in restored { mappedAt[prefix, default: []].append((i, path)) }
        }
        // Slots of a list whose tensors gave their container (`Sequential[0]` → `heads.0`): a slot whose own
        // tensors carry another slot's name (`copy.copy(head)` per slot; `self.trunk[1](t)` with no tensor)
        // is a slot of the nearest such list in graph order, of the same module type where there is one.
        var slots: [String: [(position: Int, path: [String])]] = [:]   // by the slot's module type; "" for any
        for i in own.keys.sorted() {
            guard let first = scopes[i].names.first, Int(first) != nil, let path = own[i]?[keys[i][0]], path.count >= 2, path.last == first
            else { continue }
            slots[scopes[i].types[0], default: []].append((i, Array(path.dropLast())))
            slots["", default: []].append((i, Array(path.dropLast())))
        }
        func nearest(_ list: [(position: Int, path: [String])]?, to i: Int) -> [String]? {
            guard let list, !list.isEmpty else { return nil }
            var lo = 0, hi = list.count   // the first entry at or after i
            while lo < hi { let m = (lo + hi) / 2; if list[m].position < i { lo = m + 1 } else { hi = m } }
            let before = lo > 0 ? list[lo - 1] : nil, after = lo < list.count ? list[lo] : nil
            guard let b = before else { return after?.path }
            guard let a = after else { return b.path }
            return i - b.position <= a.position - i ? b.path : a.path
        }
        func callSite(_ i: Int) -> [String] {
            let scope = scopes[i].names
            for k in stride(from: scope.count, through: 1, by: -1) {
                let prefix = keys[i][k - 1]
                if let full = own[i]?[prefix] ?? nearest(mappedAt[prefix], to: i) { return full + scope.dropFirst(k) }
            }
            if let first = scope.first, Int(first) != nil,
               let container = nearest(slots[scopes[i].types[0]], to: i) ?? nearest(slots[""], to: i) {
                return container + scope
            }
            return scope
        }

        let modelName = nodes.indices.lazy.filter { self.isOp(roles[$0]) }.compactMap { scopes[$0].root }.first ?? "model"
        var builder = GraphBuilder(name: modelName, mode: .eval)
        builder.setStorageIdentity(.path)
        var training = false

        // Storages: one per attribute path, named by that path and by every call site that reads it.
        var storageOf: [String: StorageID] = [:]
        var storageNames: [String: [String]] = [:]
        var storageOrder: [String] = []
        for (i, node) in nodes.enumerated() where isOp(roles[i]) {
            let site = callSite(i).joined(separator: ".")
            for tensor in tensorInputs(node, index, roles) {
                if storageNames[tensor] == nil { storageOrder.append(tensor); storageNames[tensor] = [tensor] }
                let attribute = tensor.split(separator: ".").last.map(String.init) ?? tensor
                let name = site.isEmpty ? attribute : site + "." + attribute
                if !storageNames[tensor]!.contains(name) { storageNames[tensor]!.append(name) }
            }
        }
        for tensor in storageOrder {
            let attribute = tensor.split(separator: ".").last.map(String.init) ?? tensor
            storageOf[tensor] = builder.addStorage(Storage(
                id: "s\(storageOf.count)", kind: RunningStatistics.names.contains(attribute) ? .buffer : .parameter,
                names: storageNames[tensor]!, shape: nil, dtype: nil))
        }

        // Values: graph inputs, then ops in dependency order.
        var valueOf: [Int: ValueID] = [:]
        for (i, node) in nodes.enumerated() {
            guard case .input = roles[i] else { continue }
            let v = builder.addValue(id: "v\(valueOf.count)", shape: shape(node), dtype: nil)
            valueOf[i] = v
            builder.addInput(v)
        }
        // Module types: tensor scopes carry whole paths (containers included), op scopes the rest.
        var typeOf: [String: String] = [:]
        for (i, role) in roles.enumerated() {
            guard case .tensor = role else { continue }
            for k in scopes[i].names.indices { typeOf[scopes[i].names.prefix(k + 1).joined(separator: ".")] = scopes[i].types[k] }
        }
        var moduleOrder: [String] = []
        var moduleSeen = Set<String>()
        for i in try order(nodes, index, roles) {
            let node = nodes[i]
            var operands: [Operand] = []
            var writes: [StorageID] = []
            let tensorArguments = flatInputs(node, index, roles)
            for argument in tensorArguments {
                switch roles[argument] {
                case .tensor(let path): operands.append(.storage(storageOf[path]!))
                case .input, .op, .element: if let v = valueOf[argument] { operands.append(.value(v)) }
                default: break
                }
            }
            if Self.batchNorms.contains(node.op), node.input.count > 5, let flag = index[node.input[5]],
                case .constant = roles[flag], attributeField(stringAttribute(nodes[flag], "attr"), "value") == "1"
            {
                training = true
                for k in 3...4 { if let s = index[node.input[k]], case .tensor(let path) = roles[s] { writes.append(storageOf[path]!) } }
            }
            let output = builder.addValue(id: "v\(builder.graph.values.count)", shape: shape(nodes[elements[i]?.first ?? i]), dtype: nil)
            valueOf[i] = output
            var outputs = [output]
            for (k, element) in (elements[i] ?? []).enumerated() {
                if k > 0 { outputs.append(builder.addValue(id: "v\(builder.graph.values.count)", shape: shape(nodes[element]), dtype: nil)) }
                valueOf[element] = outputs[k]
            }
            let site = callSite(i)
            let path = site.joined(separator: ".")
            let lost = site.count - scopes[i].names.count
            for k in site.indices {
                let prefix = site.prefix(k + 1).joined(separator: ".")
                if typeOf[prefix] == nil { typeOf[prefix] = k >= lost ? scopes[i].types[k - lost] : "Module" }
                if moduleSeen.insert(prefix).inserted { moduleOrder.append(prefix) }
            }
            let (op, inplace) = canonical(node.op, outputRank: builder.graph.values[output.index].shape?.count)
            builder.addNode(Node(
                id: "n\(builder.graph.nodes.count)", op: op, module: path, moduleType: path.isEmpty ? (scopes[i].root ?? "") : typeOf[path] ?? "",
                inputs: operands, outputs: outputs, writes: writes, inplace: inplace,
                attributes: [("torchscript", .string(node.op))] + constantArguments(node, index, roles)))
        }
        for (i, node) in nodes.enumerated() {
            guard case .output = roles[i] else { continue }
            for argument in flatInputs(node, index, roles) {
                if let v = valueOf[argument] { builder.addOutput(v) }
            }
        }
        var graph = builder.finish()
        graph.mode = training ? .train : .eval
        graph.modules = [ModuleInfo(path: "", type: graph.name)] + moduleOrder.map { ModuleInfo(path: $0, type: typeOf[$0] ?? "Module") }
        return graph
    }

    private func isOp(_ role: Role) -> Bool {
        if case .op = role { return true }
        return false
    }

    /// The nodes an op reads, with list/tuple constructs expanded and constants and module objects dropped.
    private func flatInputs(_ node: Tensorboard_NodeDef, _ index: [String: Int], _ roles: [Role]) -> [Int] {
        var result: [Int] = []
        var pending = node.input.reversed().map { $0 }
        var seen = 0
        while let name = pending.popLast(), seen < 100_000 {
            seen += 1
            guard let i = index[name] else { continue }
            switch roles[i] {
            case .passThrough: pending.append(contentsOf: def.node[i].input.reversed())
            case .picked(let value): pending.append(value)
            case .tensor, .input, .op, .element: result.append(i)
            case .constant, .moduleObject, .output: break
            }
        }
        return result
    }

    /// The op's arguments that are constants, as text in argument order (`_` for a tensor), when it has any:
    /// two ops on the same tensors compute the same value only when these agree too (`x[:, 0]` and `x[:, 1]`,
    /// one weight at two dilations).
    private func constantArguments(_ node: Tensorboard_NodeDef, _ index: [String: Int], _ roles: [Role]) -> [(name: String, value: AttributeValue)] {
        var constants = 0
        func text(_ inputs: [String], depth: Int) -> String {
            inputs.map { name -> String in
                guard let i = index[name] else { return "_" }
                switch roles[i] {
                case .constant:
                    constants += 1
                    return stringAttribute(def.node[i], "attr")
                case .passThrough where depth < 4: return "[" + text(def.node[i].input, depth: depth + 1) + "]"
                default: return "_"
                }
            }.joined(separator: ",")
        }
        let arguments = text(node.input, depth: 0)
        return constants > 0 ? [("constants", .string(arguments))] : []
    }

    private func tensorInputs(_ node: Tensorboard_NodeDef, _ index: [String: Int], _ roles: [Role]) -> [String] {
        flatInputs(node, index, roles).compactMap { if case .tensor(let path) = roles[$0] { return path } else { return nil } }
    }

    /// Ops in an order where every op comes after the ops it reads (GraphDef order is not that), ties
    /// broken by GraphDef order so the result is deterministic.
    private func order(_ nodes: [Tensorboard_NodeDef], _ index: [String: Int], _ roles: [Role]) throws(InputError) -> [Int] {
        let ops = nodes.indices.filter { isOp(roles[$0]) }
        let dependencies = { (op: Int) in
            flatInputs(nodes[op], index, roles).map { i in if case .element(let list) = roles[i] { list } else { i } }
        }
        switch TopologicalOrder.sort(ops, dependencies: dependencies) {
        case .success(let order): return order
        case .failure(let cycle):
            throw InputError(location: "node '\(nodes[cycle.item].name)'", message: "the graph has a cycle through this node")
        }
    }

    private func stringAttribute(_ node: Tensorboard_NodeDef, _ key: String) -> String {
        guard let value = node.attr[key], case .s(let data)? = value.value else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    private func shape(_ node: Tensorboard_NodeDef) -> [Int]? {
        guard let value = node.attr["_output_shapes"], case .list(let list)? = value.value, let first = list.shape.first,
            !first.unknownRank
        else { return nil }
        let dims = first.dim.map { Int(clamping: $0.size) }
        return dims.allSatisfy { $0 >= 0 } ? dims : nil
    }

    /// `aten::relu_` → (`relu`, in place); `aten::_convolution` → `conv2d` for a 4-D result.
    private func canonical(_ op: String, outputRank: Int?) -> (String, Bool) {
        var name = op
        for prefix in ["aten::", "prim::"] where name.hasPrefix(prefix) { name = String(name.dropFirst(prefix.count)) }
        var inplace = false
        if name.hasSuffix("_") && !name.hasSuffix("__") && !name.hasPrefix("_") {
            inplace = true
            name.removeLast()
        }
        switch name {
        case "_convolution", "convolution", "conv2d":
            return ([3: "conv1d", 4: "conv2d", 5: "conv3d"][outputRank ?? 0] ?? "convolution", inplace)
        case "NumToTensor": return ("num_to_tensor", inplace)
        case "Int": return ("int", inplace)
        default:
            return (name.lowercased().replacingOccurrences(of: " ", with: "_"), inplace)
        }
    }
}
