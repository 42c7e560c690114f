/// Tiny traces with names-only storage identity, as an ONNX model gives them: a trunk op and two head
/// ops whose outputs are concatenated; `head1Reads` / `head2Reads` name the initializers each head reads,
/// `head2Module` where head2's op sits.
extension RuleExamples {
    static func namesOnly(head1Reads: String, head2Reads: String, head2Module: String = "head2.fc") -> String {
        """
        {"format": "graphcheck.trace", "version": 1, "mode": "eval", "storage_identity": "name",
         "inputs": ["x"], "outputs": ["y"],
         "storages": [
           {"id": "t", "kind": "parameter", "names": ["trunk.weight"], "shape": [4, 8]},
           {"id": "a", "kind": "parameter", "names": ["head1.fc.weight"], "shape": [2, 4]},
           {"id": "b", "kind": "parameter", "names": ["head2.fc.weight"], "shape": [2, 4]}],
         "values": [{"id": "x", "shape": [2, 8]}, {"id": "h", "shape": [2, 4]}, {"id": "p", "shape": [2, 2]},
                    {"id": "q", "shape": [2, 2]}, {"id": "y", "shape": [2, 4]}],
         "nodes": [
           {"id": "n0", "op": "linear", "module": "trunk", "inputs": ["x", "t"], "outputs": ["h"]},
           {"id": "n1", "op": "linear", "module": "head1.fc", "inputs": ["h", "\(head1Reads)"], "outputs": ["p"]},
           {"id": "n2", "op": "linear", "module": "\(head2Module)", "inputs": ["h", "\(head2Reads)"], "outputs": ["q"]},
           {"id": "n3", "op": "cat", "module": "", "inputs": ["p", "q"], "outputs": ["y"]}]}
        """
    }
}

/// A trunk and two heads held in `heads` (`heads.0`, `heads.1`): registered (an nn.ModuleList) or not (a
/// plain list), as the exporter's module table says.
extension RuleExamples {
    /// Two heads of one class whose `proj = nn.Linear(4, 2)` is written in the class body: one module object
    /// that both heads call and neither registers.
    static let classAttributeHeads = """
        {"format": "graphcheck.trace", "version": 1, "mode": "train",
         "inputs": ["x"], "outputs": ["p", "q"],
         "modules": [
           {"path": "", "type": "Model", "instance": "m0"}, {"path": "trunk", "type": "Linear", "instance": "m1"},
           {"path": "head1", "type": "Head", "instance": "m2"}, {"path": "head1.proj", "type": "Linear", "instance": "m3", "registered": false},
           {"path": "head2", "type": "Head", "instance": "m4"}, {"path": "head2.proj", "type": "Linear", "instance": "m3", "registered": false}],
         "storages": [
           {"id": "t", "kind": "parameter", "names": ["trunk.weight"], "shape": [4, 8]},
           {"id": "w", "kind": "parameter", "names": ["head1.proj.weight", "head2.proj.weight"], "shape": [2, 4]}],
         "values": [{"id": "x", "shape": [2, 8]}, {"id": "h", "shape": [2, 4]}, {"id": "p", "shape": [2, 2]}, {"id": "q", "shape": [2, 2]}],
         "nodes": [
           {"id": "n0", "op": "linear", "module": "trunk", "inputs": ["x", "t"], "outputs": ["h"]},
           {"id": "n1", "op": "linear", "module": "head1.proj", "inputs": ["h", "w"], "outputs": ["p"]},
           {"id": "n2", "op": "linear", "module": "head2.proj", "inputs": ["h", "w"], "outputs": ["q"]}]}
        """

    /// `head2 = nn.Linear(4, 2)` written in the forward: its weights made anew on every call.
    static let headMadeInForward = """
        {"format": "graphcheck.trace", "version": 1, "mode": "train",
         "inputs": ["x"], "outputs": ["p", "q"],
         "modules": [
           {"path": "", "type": "Model"}, {"path": "trunk", "type": "Linear"}, {"path": "head1", "type": "Linear"},
           {"path": "head2", "type": "Linear", "made_in_forward": true}],
         "storages": [
           {"id": "t", "kind": "parameter", "names": ["trunk.weight"], "shape": [4, 8]},
           {"id": "a", "kind": "parameter", "names": ["head1.weight"], "shape": [2, 4]},
           {"id": "b", "kind": "parameter", "names": ["head2.weight"], "shape": [2, 4]}],
         "values": [{"id": "x", "shape": [2, 8]}, {"id": "h", "shape": [2, 4]}, {"id": "p", "shape": [2, 2]}, {"id": "q", "shape": [2, 2]}],
         "nodes": [
           {"id": "n0", "op": "linear", "module": "trunk", "inputs": ["x", "t"], "outputs": ["h"]},
           {"id": "n1", "op": "linear", "module": "head1", "inputs": ["h", "a"], "outputs": ["p"]},
           {"id": "n2", "op": "linear", "module": "head2", "inputs": ["h", "b"], "outputs": ["q"]}]}
        """

    static func listedHeads(registered: Bool, frozen: Bool = false) -> String {
        let flag = registered ? "" : #", "registered": false"#
        let trains = frozen ? #", "requires_grad": false"# : ""
        return """
            {"format": "graphcheck.trace", "version": 1, "mode": "train",
             "inputs": ["x"], "outputs": ["p", "q"],
             "modules": [
               {"path": "", "type": "Model"}, {"path": "trunk", "type": "Linear"}\(registered ? #", {"path": "heads", "type": "ModuleList"}"# : ""),
               {"path": "heads.0", "type": "Linear"\(flag)}, {"path": "heads.1", "type": "Linear"\(flag)}],
             "storages": [
               {"id": "t", "kind": "parameter", "names": ["trunk.weight"], "shape": [4, 8]},
               {"id": "a", "kind": "parameter", "names": ["heads.0.weight"], "shape": [2, 4]\(trains)},
               {"id": "b", "kind": "parameter", "names": ["heads.1.weight"], "shape": [2, 4]\(trains)}],
             "values": [{"id": "x", "shape": [2, 8]}, {"id": "h", "shape": [2, 4]}, {"id": "p", "shape": [2, 2]}, {"id": "q", "shape": [2, 2]}],
             "nodes": [
               {"id": "n0", "op": "linear", "module": "trunk", "inputs": ["x", "t"], "outputs": ["h"]},
               {"id": "n1", "op": "linear", "module": "heads.0", "inputs": ["h", "a"], "outputs": ["p"]},
               {"id": "n2", "op": "linear", "module": "heads.1", "inputs": ["h", "b"], "outputs": ["q"]}]}
            """
    }

    /// Per-head weight matrices held bare in a plain list (`self.w = [nn.Parameter(...) for _ in range(2)]`),
    /// or in an nn.ParameterList.
    static func listedWeights(registered: Bool) -> String {
        let flag = registered ? "" : #", "registered": false"#
        return """
            {"format": "graphcheck.trace", "version": 1, "mode": "train",
             "inputs": ["x"], "outputs": ["p", "q"],
             "modules": [{"path": "", "type": "Model"}, {"path": "trunk", "type": "Linear"}\(registered ? #", {"path": "w", "type": "ParameterList"}"# : "")],
             "storages": [
               {"id": "t", "kind": "parameter", "names": ["trunk.weight"], "shape": [4, 8]},
               {"id": "a", "kind": "parameter", "names": ["w.0"], "shape": [4, 2]\(flag)},
               {"id": "b", "kind": "parameter", "names": ["w.1"], "shape": [4, 2]\(flag)}],
             "values": [{"id": "x", "shape": [2, 8]}, {"id": "h", "shape": [2, 4]}, {"id": "p", "shape": [2, 2]}, {"id": "q", "shape": [2, 2]}],
             "nodes": [
               {"id": "n0", "op": "linear", "module": "trunk", "inputs": ["x", "t"], "outputs": ["h"]},
               {"id": "n1", "op": "mm", "module": "w.0", "inputs": ["h", "a"], "outputs": ["p"]},
               {"id": "n2", "op": "mm", "module": "w.1", "inputs": ["h", "b"], "outputs": ["q"]}]}
            """
    }
}
