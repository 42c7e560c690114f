/// The tiny models the rules' examples are written in: a trunk, two heads, their outputs concatenated.
/// `heads` gives the two head entries of `children`; `head2Input` is what head2 is called on (the trunk's
/// output `t`, or head1's output `a`).
enum RuleExamples {
    static func twoHeads(lets: String = "", heads: String, head2Input: String = "t", branches: String = "") -> String {
        """
        {
          "format": "graphcheck.model", "version": 1, "mode": "train",
          "let": {\(lets)},
          "model": {"type": "Module", "class": "TwoHeads",
            "children": {"trunk": {"type": "Linear", "in_features": 8, "out_features": 4}, \(heads)},
            "forward": {"inputs": ["x"], "body": [
              {"out": "t", "call": "trunk", "args": ["x"]},
              {"out": "a", "call": "head1", "args": ["t"]},
              {"out": "b", "call": "head2", "args": ["\(head2Input)"]},
              {"out": "y", "op": "cat", "args": ["a", "b"], "dim": 1}
            ], "outputs": ["y"]}},
          "inputs": [{"name": "x", "shape": [2, 8]}]\(branches.isEmpty ? "" : ",\n  \"branches\": [\(branches)]")
        }
        """
    }

    /// Two heads built separately and declared as the branches; head2 is called on `head2Input`.
    static func separateHeads(head2Input: String = "t") -> String {
        twoHeads(
            heads: #""head1": {"type": "Linear", "in_features": 4, "out_features": 4}, "head2": {"type": "Linear", "in_features": 4, "out_features": 4}"#,
            head2Input: head2Input, branches: #""head1", "head2""#)
    }

    /// A trunk and three heads reading its output; head1's own forward applies ReLU to its input first,
    /// in place or not.
    static func threeHeads(head1Inplace: Bool) -> String {
        """
        {
          "format": "graphcheck.model", "version": 1, "mode": "train",
          "model": {"type": "Module", "class": "ThreeHeads",
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
              "model": {"type": "Module", "class": "Siamese", "children": {\(children)},
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
