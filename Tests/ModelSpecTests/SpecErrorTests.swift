import GraphCheck
import GraphIR
import Testing
import TestSupport

/// Every way a spec can be wrong gives one message naming the file and the place, never a crash.
@Suite struct SpecErrorTests {
    static let valid = """
        {"format": "graphcheck.model", "version": 1,
         "let": {"fc": {"type": "Linear", "in_features": 4, "out_features": 2}},
         "model": {"type": "Module", "children": {"a": {"ref": "fc"}},
                   "forward": {"inputs": ["x"], "body": [{"out": "y", "call": "a", "args": ["x"]}], "outputs": ["y"]}},
         "inputs": [{"name": "x", "shape": [3, 4]}]}
        """

    /// `valid` with one substring replaced.
    static func variant(_ from: String, _ to: String) -> String {
        precondition(valid.contains(from), "bad test: \(from)")
        return valid.replacingOccurrences(of: from, with: to)
    }

    @Test func theBaseSpecIsValid() throws {
        #expect(Repository.loadError(Self.valid) == nil)
    }

    @Test(arguments: [
        // (replace, with, location prefix, message fragment)
        (#""type": "Linear""#, #""type": "Linaer""#, "$.let.fc.type (line 2", #"unknown layer type "Linaer""#),
        (#""shape": [3, 4]"#, #""shape": [3, 5]"#, "$.model.forward.body[0] (line 4", "in module 'a' (Linear): expects input with last dimension 4 (in_features), got [3, 5]"),
        (#"{"ref": "fc"}"#, #"{"ref": "fcc"}"#, "$.model.children.a.ref", #"reference to unknown module "fcc" (defined: fc)"#),
        (#"{"ref": "fc"}"#, #"{"ref": "fc.weight"}"#, "$.model.children.a.ref", #"Linear has no submodule "weight""#),
        (#""call": "a""#, #""call": "b""#, "$.model.forward.body[0]", #"cannot call "b": M"#),
        (#""args": ["x"]}"#, #""args": ["z"]}"#, "$.model.forward.body[0].args[0]", #"value "z" is used before it is defined"#),
        (#""outputs": ["y"]"#, #""outputs": ["q"]"#, "$.model.forward.outputs[0]", #"output "q" is never defined"#),
        (#""in_features": 4,"#, #""in_features": 4, "bias": 1,"#, "$.let.fc.bias", "expected true or false"),
        (#""out_features": 2"#, #""out_features": 2, "outfeatures": 2"#, "$.let.fc.outfeatures", #"unknown key "outfeatures""#),
        (#""in_features": 4"#, #""in_features": -4"#, "$.let.fc.in_features", "expected a positive integer, found -4"),
        (#""shape": [3, 4]"#, #""shape": [3, 0]"#, "$.inputs[0].shape[1]", "an input dimension must be a positive integer"),
        (#""version": 1"#, #""version": 7"#, "$.version", "unsupported model spec version 7"),
        (#""version": 1,"#, #""version": 1, "mode": "training","#, "$.mode", #"mode must be "train" or "eval""#),
        (#""body": [{"#, #""body": [{"op": "conv", "#, "$.model.forward.body[0]", #"either "call" or "op", not both"#),
        (#""call": "a", "args""#, #""op": "conv", "args""#, "$.model.forward.body[0].op", #"unknown op "conv" (known: relu,"#),
        (#""call": "a", "args""#, #""args""#, "$.model.forward.body[0]", #"a statement needs "call" or "op""#),
        (#""inputs": ["x"], "body""#, #""inputs": ["x", "w"], "body""#, "$.model", "forward takes 2 inputs, called with 1"),
    ])
    func badSpecIsLocated(from: String, to: String, location: String, message: String) {
        let error = Repository.loadError(Self.variant(from, to), name: "model.json")
        #expect(error?.file == "model.json")
        #expect(error?.location.hasPrefix(location) == true, "location: \(String(describing: error?.location))")
        #expect(error?.message.contains(message) == true, "message: \(String(describing: error?.message))")
    }

    @Test func malformedJSONNamesLineAndColumn() {
        let error = Repository.loadError(Self.variant(#""version": 1,"#, #""version": 1,,"#), name: "model.json")
        #expect(error?.description == "model.json: line 1, column 45: malformed JSON: expected a string key")
    }

    @Test func cyclesInModuleReferencesAreNamed() {
        let spec = Self.variant(
            #""let": {"fc": {"type": "Linear", "in_features": 4, "out_features": 2}}"#,
            #""let": {"fc": {"type": "Sequential", "children": [{"ref": "b"}]}, "b": {"type": "Sequential", "children": [{"ref": "fc"}]}}"#)
        let error = Repository.loadError(spec)
        #expect(error?.message == "cycle in module references: fc → b → fc")
        #expect(error?.location.hasPrefix("$.let.b.children[0].ref") == true)
    }

    @Test func convolutionChannelMismatchNamesTheModuleAndShapes() {
        let spec = """
            {"format": "graphcheck.model", "version": 1, "model": {"type": "resnet18"},
             "inputs": [{"name": "x", "shape": [1, 1, 64, 64]}]}
            """
        #expect(Repository.loadError(spec)?.message == "in module 'conv1' (Conv2d): expects 3 input channels (in_channels), got input [1, 1, 64, 64]")
    }

    @Test func trainingBatchNormNeedsMoreThanOneValuePerChannel() {
        let spec = """
            {"format": "graphcheck.model", "version": 1, "mode": "train", "model": {"type": "resnet18"},
             "inputs": [{"name": "x", "shape": [1, 3, 32, 32]}]}
            """
        #expect(Repository.loadError(spec)?.message.contains("expected more than 1 value per channel when training") == true)
    }

    @Test func callingAModuleListIsAnError() {
        let spec = Self.variant(#"{"ref": "fc"}"#, #"{"type": "ModuleList", "children": [{"ref": "fc"}]}"#)
        #expect(Repository.loadError(spec)?.message == "in module 'a' (ModuleList): ModuleList is not callable; call one of its entries")
    }

    @Test func exponentialAliasingIsBoundedNotHung() {
        var lets = [#""l0": {"type": "ReLU"}"#]
        for i in 1...40 { lets.append(#""l\#(i)": {"type": "Sequential", "children": [{"ref": "l\#(i - 1)"}, {"ref": "l\#(i - 1)"}]}"#) }
        let spec = """
            {"format": "graphcheck.model", "version": 1, "let": {\(lets.joined(separator: ", "))},
             "model": {"ref": "l40"}, "inputs": [{"name": "x", "shape": [2]}]}
            """
        #expect(Repository.loadError(spec)?.message.contains("module paths") == true)
    }

    @Test func notAModelAtAll() {
        #expect(Repository.loadError(#"{"hello": 1}"#)?.message.contains("not a graphcheck model spec or trace") == true)
        #expect(Repository.loadError(#"{"format": "onnx"}"#)?.message.contains(#"unknown format "onnx""#) == true)
        #expect(Repository.loadError("[1, 2]")?.message.contains("not a graphcheck model spec or trace") == true)
    }
}
