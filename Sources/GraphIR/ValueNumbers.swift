extension Graph {
    /// Value numbering: per value, the index of the first value computed the same way — the same op kind and
    /// attributes on the same (numbered) operands and tensors. Equal numbers are one computation done more than
    /// once: a head object called twice on the same features, a trunk run again for each head.
    ///
    /// In-place ops never repeat a computation (they change what they read). Random ops (dropout) draw anew
    /// each call, so their results are equal only in what they were drawn from: `drawsAlike` numbers them
    /// alike for questions about which features a value comes from, not about its values.
    public func valueNumbers(drawsAlike: Bool = false) -> [Int] {
        var number = [Int](values.indices)
        var first: [Computation: [ValueID]] = [:]
        for node in nodes where !node.outputs.isEmpty && !node.inplace && (drawsAlike || !node.properties.contains(.random)) {
            let computation = Computation(
                op: node.op,
                inputs: node.inputs.map { if case .value(let v) = $0 { return .value(ValueID(number[v.index])) } else { return $0 } },
                attributes: node.attributes.map { Computation.Attribute(name: $0.name, value: $0.value) })
            if let earlier = first[computation], earlier.count == node.outputs.count {
                for (output, same) in zip(node.outputs, earlier) { number[output.index] = number[same.index] }
            } else {
                first[computation] = node.outputs
            }
        }
        return number
    }

    /// What an op computes: its kind, its attributes and everything it reads, in order.
    private struct Computation: Hashable {
        struct Attribute: Hashable {
            var name: String
            var value: AttributeValue
        }

        var op: String
        var inputs: [Operand]
        var attributes: [Attribute]
    }
}
