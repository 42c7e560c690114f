import GraphIR

/// A tensor a module owns (a parameter or buffer). A class, because identity is the point: two modules
/// that hold the same slot share storage, exactly as two PyTorch modules holding the same Parameter do.
final class TensorSlot {
    let kind: StorageKind
    let shape: [Int]
    let dtype: DType
    /// Initialised to one number throughout (BatchNorm's and LayerNorm's ones and zeros, every buffer):
    /// equal values then say nothing about copying.
    let constant: Bool
    /// What `copy.deepcopy` copied this tensor from (the first original), nil for an original.
    private let copiedFrom: TensorSlot?

    init(_ kind: StorageKind, _ shape: [Int], dtype: DType = .float32, constant: Bool = false) {
        self.kind = kind
        self.shape = shape
        self.dtype = dtype
        self.constant = constant || kind == .buffer
        copiedFrom = nil
    }

    /// A deep copy: new storage, equal values.
    init(copying slot: TensorSlot) {
        kind = slot.kind
        shape = slot.shape
        dtype = slot.dtype
        constant = slot.constant
        copiedFrom = slot.origin
    }

    /// The tensor whose values this one started as: itself, or the original it was copied from.
    var origin: TensorSlot { copiedFrom ?? self }
}

/// A module object. A class for the same reason as `TensorSlot`: naming one instance in two places in
/// the model is aliasing, and `deepCopy()` is `copy.deepcopy`.
final class ModuleInstance {
    let typeName: String
    let kind: ModuleKind
    private(set) var children: [(name: String, module: ModuleInstance)]
    /// The spec line that declares each child (a `ref`, `copy` or `type` object), where there is one.
    var childLines: [String: Int] = [:]
    private(set) var parameters: [(name: String, slot: TensorSlot)]
    let buffers: [(name: String, slot: TensorSlot)]

    init(
        _ typeName: String, _ kind: ModuleKind, children: [(String, ModuleInstance)] = [],
        parameters: [(String, TensorSlot)] = [], buffers: [(String, TensorSlot)] = []
    ) {
        self.typeName = typeName
        self.kind = kind
        self.children = children.map { (name: $0.0, module: $0.1) }
        self.parameters = parameters.map { (name: $0.0, slot: $0.1) }
        self.buffers = buffers.map { (name: $0.0, slot: $0.1) }
    }

    /// `self.lm_head.weight = self.embedding.weight`: this module's parameter `name` becomes `slot`.
    func tie(_ name: String, to slot: TensorSlot) -> Bool {
        guard let index = parameters.firstIndex(where: { $0.name == name }) else { return false }
        parameters[index].slot = slot
        return true
    }

    func child(_ name: String) -> ModuleInstance? {
        children.first { $0.name == name }?.module
    }

    /// `copy.deepcopy`: new modules and new tensors throughout, with aliasing *inside* the copied tree
    /// preserved (deepcopy's memo), so a module used twice within the copy is still one module.
    func deepCopy() -> ModuleInstance {
        var modules: [ObjectIdentifier: ModuleInstance] = [:]
        var slots: [ObjectIdentifier: TensorSlot] = [:]
        return deepCopy(&modules, &slots)
    }

    private func deepCopy(
        _ modules: inout [ObjectIdentifier: ModuleInstance], _ slots: inout [ObjectIdentifier: TensorSlot]
    ) -> ModuleInstance {
        if let done = modules[ObjectIdentifier(self)] { return done }
        func copySlot(_ slot: TensorSlot) -> TensorSlot {
            if let done = slots[ObjectIdentifier(slot)] { return done }
            let fresh = TensorSlot(copying: slot)
            slots[ObjectIdentifier(slot)] = fresh
            return fresh
        }
        let copy = ModuleInstance(
            typeName, kind,
            parameters: parameters.map { ($0.name, copySlot($0.slot)) },
            buffers: buffers.map { ($0.name, copySlot($0.slot)) })
        modules[ObjectIdentifier(self)] = copy
        copy.children = children.map { (name: $0.name, module: $0.module.deepCopy(&modules, &slots)) }
        copy.childLines = childLines
        return copy
    }

    /// A container of the same class holding `indices` of this one's children — the very same child
    /// objects under the same names, as `nn.Sequential.__getitem__(slice)` does.
    func slice(_ indices: [Int]) -> ModuleInstance {
        ModuleInstance(typeName, kind, children: indices.map { (children[$0].name, children[$0].module) })
    }
}
