/// The tiny models the rules' examples are written in, each the model spec of a PyTorch `Model` the rule's
/// description also gives as code: a trunk and heads whose outputs are concatenated.
enum RuleExamples {
    /// A trunk and two heads reading its output; `heads` gives the two head entries of `children`.
    static func twoHeads(lets: String = "", heads: String) -> String {
        """
        {
          "format": "graphcheck.model", "version": 1, "mode": "train",
          "let": {\(lets)},
          "model": {"type": "Module", "class": "Model",
            "children": {"trunk": {"type": "Linear", "in_features": 8, "out_features": 4}, \(heads)},
            "forward": {"inputs": ["x"], "body": [
              {"out": "t", "call": "trunk", "args": ["x"]},
              {"out": "a", "call": "head1", "args": ["t"]},
              {"out": "b", "call": "head2", "args": ["t"]},
              {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}
            ], "outputs": ["y"]}},
          "inputs": [{"name": "x", "shape": [2, 8]}]
        }
        """
    }

    /// Two heads built separately; head2 reads the trunk's output, or (`leak`) the trunk's output plus head1's.
    static func separateHeads(leak: Bool) -> String {
        """
        {
          "format": "graphcheck.model", "version": 1, "mode": "train",
          "model": {"type": "Module", "class": "Model",
            "children": {"trunk": {"type": "Linear", "in_features": 8, "out_features": 4},
              "head1": {"type": "Linear", "in_features": 4, "out_features": 4}, "head2": {"type": "Linear", "in_features": 4, "out_features": 4}},
            "forward": {"inputs": ["x"], "body": [
              {"out": "t", "call": "trunk", "args": ["x"]},
              {"out": "a", "call": "head1", "args": ["t"]},\(leak ? "\n      {\"out\": \"m\", \"op\": \"add\", \"args\": [\"t\", \"a\"]}," : "")
              {"out": "b", "call": "head2", "args": ["\(leak ? "m" : "t")"]},
              {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}
            ], "outputs": ["y"]}},
          "inputs": [{"name": "x", "shape": [2, 8]}]
        }
        """
    }

    /// A trunk and a ModuleList of two heads called on its output: one head object in both slots, or a copy.
    static func oneHeadTwice(copied: Bool) -> String {
        """
        {
          "format": "graphcheck.model", "version": 1, "mode": "train",
          "let": {"head": {"type": "Linear", "in_features": 4, "out_features": 2}},
          "model": {"type": "Module", "class": "Model",
            "children": {"trunk": {"type": "Linear", "in_features": 8, "out_features": 4},
              "heads": {"type": "ModuleList", "children": [{"ref": "head"}, {"\(copied ? "copy" : "ref")": "head"}]}},
            "forward": {"inputs": ["x"], "body": [
              {"out": "t", "call": "trunk", "args": ["x"]},
              {"out": "a", "call": "heads[0]", "args": ["t"]},
              {"out": "b", "call": "heads[1]", "args": ["t"]},
              {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}
            ], "outputs": ["y"]}},
          "inputs": [{"name": "x", "shape": [2, 8]}]
        }
        """
    }

    /// The commands that check `example.py` through the PyTorch exporter.
    static func exportAndCheck(inputs: String = "--input 2x8") -> [String] {
        ["python -m graphcheck_torch example:Model \(inputs) -o model.json", "graphcheck model.json"]
    }

    /// The commands that check `example.py` through an ONNX export.
    static func onnxExportAndCheck(dynamo: Bool) -> [String] {
        [
            "python -c \"import torch, example; torch.onnx.export(example.Model(), (torch.randn(2, 8),), 'model.onnx', dynamo=\(dynamo ? "True" : "False"))\"",
            "graphcheck model.onnx",
        ]
    }

    /// A trunk and three heads reading its output; head1's own forward applies ReLU to its input first,
    /// in place or not.
    static func threeHeads(head1Inplace: Bool) -> String {
        """
        {
          "format": "graphcheck.model", "version": 1, "mode": "train",
          "model": {"type": "Module", "class": "Model",
            "children": {
              "trunk": {"type": "Linear", "in_features": 8, "out_features": 4},
              "head1": {"type": "Module", "class": "ReluHead", "children": {"fc": {"type": "Linear", "in_features": 4, "out_features": 2}},
                "forward": {"inputs": ["x"], "body": [
                  {"out": "x", "op": "relu", "args": ["x"], "inplace": \(head1Inplace)},
                  {"out": "y", "call": "fc", "args": ["x"]}], "outputs": ["y"]}},
              "head2": {"type": "Linear", "in_features": 4, "out_features": 2},
              "head3": {"type": "Linear", "in_features": 4, "out_features": 2}},
            "forward": {"inputs": ["x"], "body": [
              {"out": "t", "call": "trunk", "args": ["x"]},
              {"out": "a", "call": "head1", "args": ["t"]},
              {"out": "b", "call": "head2", "args": ["t"]},
              {"out": "c", "call": "head3", "args": ["t"]},
              {"out": "y", "op": "cat", "args": ["a", "b", "c"], "dim": 1}
            ], "outputs": ["y"]}},
          "inputs": [{"name": "x", "shape": [2, 8]}]
        }
        """
    }

    /// Two images through an encoder — one module called twice, or two modules — then their difference.
    static func siamese(sharedEncoder: Bool) -> String {
        let second = sharedEncoder ? "encoder" : "encoder2"
        let children = sharedEncoder
            ? #""encoder": {"type": "Linear", "in_features": 8, "out_features": 4}"#
            : #""encoder": {"type": "Linear", "in_features": 8, "out_features": 4}, "encoder2": {"type": "Linear", "in_features": 8, "out_features": 4}"#
        return """
            {
              "format": "graphcheck.model", "version": 1, "mode": "train",
              "model": {"type": "Module", "class": "Model", "children": {\(children)},
                "forward": {"inputs": ["a", "b"], "body": [
                  {"out": "ea", "call": "encoder", "args": ["a"]},
                  {"out": "eb", "call": "\(second)", "args": ["b"]},
                  {"out": "d", "op": "sub", "args": ["ea", "eb"]}
                ], "outputs": ["d"]}},
              "inputs": [{"name": "a", "shape": [2, 8]}, {"name": "b", "shape": [2, 8]}]
            }
            """
    }
}
