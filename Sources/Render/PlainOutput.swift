/// Graphviz's `plain` output, read: where each node and edge of a graph graphcheck wrote went. Units are
/// points, y upward from the bottom, as Graphviz's own `pos` attributes have them. Node ids are synthetic
/// (`n12`, `i3`: a letter and an index), so every field read comes before the first label, unquoted.
struct PlainOutput {
    struct Node {
        var x: Double
        var y: Double
        var width: Double
        var height: Double
    }

    var width = 0.0
    var height = 0.0
    /// By node index.
    var nodes: [Int: Node] = [:]
    /// Spline control points by (tail, head), flattened x, y, x, y, …
    var edges: [[Int]: [Double]] = [:]

    init(_ bytes: [UInt8], prefix: Character) throws(RenderError) {
        var scale = 1.0
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 64, omittingEmptySubsequences: true)
            guard let kind = fields.first else { continue }
            switch kind {
            case "graph":
                guard fields.count >= 4, let s = Double(fields[1]), let w = Double(fields[2]), let h = Double(fields[3]) else {
                    throw RenderError("Graphviz's plain output has a malformed graph line")
                }
                scale = s
                width = w * s * 72
                height = h * s * 72
            case "node":
                guard fields.count >= 6, let index = Self.index(fields[1], prefix),
                    let x = Double(fields[2]), let y = Double(fields[3]), let w = Double(fields[4]), let h = Double(fields[5])
                else { throw RenderError("Graphviz's plain output has a malformed node line: \(line.prefix(120))") }
                nodes[index] = Node(x: x * scale * 72, y: y * scale * 72, width: w * 72, height: h * 72)
            case "edge":
                guard fields.count >= 4, let tail = Self.index(fields[1], prefix), let head = Self.index(fields[2], prefix),
                    let n = Int(fields[3]), n >= 0, n <= 10_000
                else { throw RenderError("Graphviz's plain output has a malformed edge line") }
                let all = line.split(separator: " ", omittingEmptySubsequences: true)
                guard all.count >= 4 + 2 * n else { throw RenderError("Graphviz's plain output has a short edge line") }
                var points: [Double] = []
                points.reserveCapacity(2 * n)
                for i in 0..<(2 * n) {
                    guard let v = Double(all[4 + i]) else { throw RenderError("Graphviz's plain output has a malformed edge point") }
                    points.append(v * scale * 72)
                }
                edges[[tail, head]] = points
            default:
                continue
            }
        }
    }

    /// `n12` → 12. Names read through graphcheck's deterministic id discipline come back as `<n12>`
    /// (cgraph takes strings it did not intern for HTML-like ones), so brackets and quotes are dropped.
    private static func index(_ id: Substring, _ prefix: Character) -> Int? {
        let bare = id.drop { $0 == "<" || $0 == "\"" }.prefix { $0 != ">" && $0 != "\"" }
        guard bare.first == prefix else { return nil }
        return Int(bare.dropFirst())
    }
}

/// A coordinate as Graphviz's position attributes take it: two decimals, the same text run to run.
func positionNumber(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let sign = hundredths < 0 ? "-" : ""
    let magnitude = abs(hundredths)
    return "\(sign)\(magnitude / 100).\(magnitude % 100 < 10 ? "0" : "")\(magnitude % 100)"
}
