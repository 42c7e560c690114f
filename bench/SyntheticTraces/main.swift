// Writes a synthetic trace for scale benchmarks: a trunk of linear layers and HEADS heads of linear
// layers reading its output, joined by a cat — NODES ops in all, each reading its own weight.
//
//     swift run -c release synthetic-traces NODES [HEADS] > trace.json
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let nodes = arguments.first.flatMap(Int.init), nodes >= 2 else {
    FileHandle.standardError.write(Data("usage: synthetic-traces NODES [HEADS]\n".utf8))
    exit(2)
}
let heads = arguments.dropFirst().first.flatMap(Int.init) ?? 4
let perSegment = max(1, (nodes - 1) / (heads + 1))

var storages: [String] = []
var values = [#"{"id": "v0", "shape": [2, 8], "dtype": "float32"}"#]
var ops: [String] = []
@MainActor func linear(_ module: String, _ input: String) -> String {
    let s = "s\(storages.count)", v = "v\(values.count)"
    storages.append(#"{"id": "\#(s)", "kind": "parameter", "names": ["\#(module).weight"], "shape": [8, 8], "dtype": "float32"}"#)
    values.append(#"{"id": "\#(v)", "shape": [2, 8], "dtype": "float32"}"#)
    ops.append(#"{"id": "n\#(ops.count)", "op": "linear", "module": "\#(module)", "module_type": "Linear", "inputs": ["\#(input)", "\#(s)"], "outputs": ["\#(v)"]}"#)
    return v
}
var trunk = "v0"
for i in 0..<perSegment { trunk = linear("trunk.\(i)", trunk) }
var outputs: [String] = []
for h in 0..<heads {
    var x = trunk
    for i in 0..<perSegment { x = linear("head\(h).\(i)", x) }
    outputs.append(x)
}
let result = "v\(values.count)"
values.append(#"{"id": "\#(result)", "shape": [2, \#(8 * heads)], "dtype": "float32"}"#)
ops.append(#"{"id": "n\#(ops.count)", "op": "cat", "module": "", "module_type": "Synthetic", "inputs": [\#(outputs.map { "\"\($0)\"" }.joined(separator: ", "))], "outputs": ["\#(result)"]}"#)

var out = #"{"format": "graphcheck.trace", "version": 1, "model": "Synthetic", "mode": "train", "inputs": ["v0"], "outputs": ["\#(result)"],"#
out += "\n\"storages\": [\n" + storages.joined(separator: ",\n") + "],\n\"values\": [\n" + values.joined(separator: ",\n")
out += "],\n\"nodes\": [\n" + ops.joined(separator: ",\n") + "]}\n"
FileHandle.standardOutput.write(Data(out.utf8))
