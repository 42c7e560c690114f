import GraphIR

/// The elements of a tensor that a chain of `select` and `slice` ops picks, as a box over the tensor's dims:
/// enough to tell what a head's write through a view changed (`h[:, 0] *= 2`) from what another head reads
/// afterwards (`h[:, 1:]` untouched, `h[:, 0:2]` not). Any other op on the way (a reshape, a transpose, a
/// strided slice) leaves the box unknown, and nothing is claimed.
struct ViewRegion {
    /// Per dim of the tensor the chain starts from: the elements picked.
    private var box: [Range<Int>]
    /// Per dim of the current view: the dim of the starting tensor it runs along, and where it starts there.
    private var dims: [(base: Int, start: Int, count: Int)]

    init?(shape: [Int]?) {
        guard let shape else { return nil }
        box = shape.map { 0..<$0 }
        dims = shape.enumerated().map { (base: $0.offset, start: 0, count: $0.element) }
    }

    static func follows(_ node: Node) -> Bool { ["select", "slice", "alias"].contains(node.op) }

    /// The box after `node` picks from the current view; false when it cannot be followed.
    mutating func apply(_ node: Node) -> Bool {
        func int(_ name: String) -> Int? {
            node.attributes.first { $0.name == name }.flatMap { if case .int(let v) = $0.value { v } else { nil } }
        }
        if node.op == "alias" { return true }  // the whole view (`h[:, 0:6]` of six rows is recorded so)
        // The exporter leaves out arguments at their defaults: `slice`'s dim 0, start 0, end and step.
        let dim = int("dim") ?? 0
        let d = dim < 0 ? dim + dims.count : dim
        guard Self.follows(node), dims.indices.contains(d) else { return false }
        let (base, start, count) = dims[d]
        func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + count : i, 0), count) }
        if node.op == "select" {
            guard let i = int("index"), case let at = i < 0 ? i + count : i, (0..<count).contains(at) else { return false }
            box[base] = box[base].clamped(to: (start + at)..<(start + at + 1))
            dims.remove(at: d)
            return true
        }
        guard (int("step") ?? 1) == 1 else { return false }
        let from = clamp(int("start") ?? 0), to = max(clamp(int("end") ?? count), from)
        box[base] = box[base].clamped(to: (start + from)..<(start + to))
        dims[d] = (base, start + from, to - from)
        return true
    }

    /// Whether the two boxes, over one tensor, share an element.
    func overlaps(_ other: ViewRegion) -> Bool {
        box.count == other.box.count && zip(box, other.box).allSatisfy { $0.overlaps($1) }
    }
}
