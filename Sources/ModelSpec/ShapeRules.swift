/// A shape that an op cannot accept; the tracer adds which op, which module and where in the spec.
struct ShapeError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// PyTorch's output-shape rules for the ops the tracer emits. Pure functions over `[Int]`.
import GraphIR

enum ShapeRules {
    static func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    /// Conv2d and the pools: `floor((size + 2p - d(k-1) - 1) / s) + 1`, with PyTorch's ceil-mode rule.
    static func windowed(_ input: [Int], kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], ceilMode: Bool = false)
        throws(ShapeError) -> [Int]
    {
        guard input.count == 4 || input.count == 3 else {
            throw ShapeError("expects a 3-D or 4-D input [N, C, H, W], got \(describe(input))")
        }
        var out = input
        for axis in 0..<2 {
            let size = input[input.count - 2 + axis]
            let k = kernel[axis], s = max(stride[axis], 1), p = padding[axis], d = dilation[axis]
            let span = size + 2 * p - d * (k - 1) - 1
            guard span >= 0 else {
                throw ShapeError("input \(describe(input)) is smaller than the kernel \(describe(kernel)) (after padding)")
            }
            var length = (ceilMode ? (span + s - 1) / s : span / s) + 1
            if ceilMode && (length - 1) * s >= size + p { length -= 1 }
            out[input.count - 2 + axis] = length
        }
        return out
    }

    static func channels(_ input: [Int], expected: Int, what: String) throws(ShapeError) {
        let c = input.count == 4 ? input[1] : input.count == 3 ? input[0] : -1
        guard c == expected else {
            throw ShapeError("expects \(expected) input channels (\(what)), got input \(describe(input))")
        }
    }

    static func normalize(_ dim: Int, rank: Int) throws(ShapeError) -> Int {
        let d = dim < 0 ? dim + rank : dim
        guard d >= 0, d < rank else { throw ShapeError("dimension \(dim) is out of range for a \(rank)-D tensor") }
        return d
    }

    static func flatten(_ input: [Int], start: Int, end: Int) throws(ShapeError) -> [Int] {
        if input.isEmpty { return [1] }
        let s = try normalize(start, rank: input.count)
        let e = try normalize(end, rank: input.count)
        guard s <= e else { throw ShapeError("flatten start_dim \(start) comes after end_dim \(end)") }
        return Array(input[..<s]) + [elementCount(input[s...e])] + Array(input[(e + 1)...])
    }

    static func view(_ input: [Int], as shape: [Int]) throws(ShapeError) -> [Int] {
        let total = elementCount(input)
        let known = elementCount(shape.filter { $0 != -1 })
        var out = shape
        if let hole = shape.firstIndex(of: -1) {
            guard known > 0, total % known == 0 else {
                throw ShapeError("cannot view \(describe(input)) (\(total) elements) as \(describe(shape))")
            }
            out[hole] = total / known
        } else if known != total {
            throw ShapeError("cannot view \(describe(input)) (\(total) elements) as \(describe(shape)) (\(known) elements)")
        }
        return out
    }

    static func cat(_ inputs: [[Int]], dim: Int) throws(ShapeError) -> [Int] {
        let first = inputs[0]
        let d = try normalize(dim, rank: first.count)
        var out = first
        out[d] = 0
        for shape in inputs {
            guard shape.count == first.count else {
                throw ShapeError("cannot concatenate tensors of different ranks: \(describe(first)) and \(describe(shape))")
            }
            for axis in 0..<shape.count where axis != d && shape[axis] != first[axis] {
                throw ShapeError("cannot concatenate \(describe(first)) and \(describe(shape)) along dimension \(dim): sizes differ in dimension \(axis)")
            }
            out[d] += shape[d]
        }
        return out
    }

    /// Python slice semantics on one dimension: negative bounds count from the end and are clamped.
    static func slice(_ input: [Int], dim: Int, start: Int?, end: Int?, step: Int) throws(ShapeError) -> [Int] {
        let d = try normalize(dim, rank: input.count)
        let n = input[d]
        func clamp(_ v: Int?, _ fallback: Int) -> Int {
            guard let v else { return fallback }
            return max(0, min(n, v < 0 ? n + v : v))
        }
        let lo = clamp(start, 0), hi = clamp(end, n)
        var out = input
        out[d] = hi > lo ? (hi - lo + step - 1) / step : 0
        return out
    }

    static func select(_ input: [Int], dim: Int, index: Int) throws(ShapeError) -> [Int] {
        let d = try normalize(dim, rank: input.count)
        guard index >= -input[d], index < input[d] else {
            throw ShapeError("index \(index) is out of range for dimension \(dim) of size \(input[d])")
        }
        var out = input
        out.remove(at: d)
        return out
    }

    static func unsqueeze(_ input: [Int], dim: Int) throws(ShapeError) -> [Int] {
        let d = try normalize(dim, rank: input.count + 1)
        var out = input
        out.insert(1, at: d)
        return out
    }

    static func broadcast(_ a: [Int], _ b: [Int]) throws(ShapeError) -> [Int] {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else {
                throw ShapeError("shapes \(describe(a)) and \(describe(b)) cannot be broadcast together")
            }
            out.append(x == 1 ? y : x)
        }
        return out
    }

    static func linear(_ input: [Int], inFeatures: Int, outFeatures: Int) throws(ShapeError) -> [Int] {
        guard let last = input.last, last == inFeatures else {
            throw ShapeError("expects input with last dimension \(inFeatures) (in_features), got \(describe(input))")
        }
        return Array(input.dropLast()) + [outFeatures]
    }
}
