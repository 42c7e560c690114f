@testable import ONNXModels
import Testing

/// Node names as torch's TorchScript-based exporter writes them (each seen in a real export), and the module
/// paths they stand for. A scope names its module from the path's last non-numeric atom on, so containers that
/// are never called (a ModuleDict) drop out and numbered children repeat their parent's name; the initializers'
/// names say which modules exist.
@Suite struct TorchScriptScopesTests {
    /// `reads`: the tensors a node reads, by node name.
    func paths(_ nodes: [String], tensors: [String], reads: [String: [String]] = [:]) -> [String?] {
        var scopes = TorchScriptScopes(nodes: nodes.map { ($0, reads[$0] ?? []) }, tensorNames: tensors)
        return nodes.map { scopes.modulePath(ofNode: $0) }
    }

    @Test func attributesSequentialsAndModuleLists() {
        let nodes = ["/a/body/body.0/Gemm", "/a/body/body.1/body.1.0/Gemm", "/a/body/body.1/body.1.1/Relu", "/lst.1/out/Gemm", "/heads.0/heads.0.0/Conv", "/Add"]
        let tensors = ["a.body.0.weight", "a.body.1.0.weight", "lst.1.out.weight", "heads.0.0.weight"]
        #expect(paths(nodes, tensors: tensors) == ["a.body.0", "a.body.1.0", "a.body.1.1", "lst.1.out", "heads.0.0", ""])
    }

    /// `dct.k`, `dct.j.0` and `seq.0.z` are scoped `k`, `j.0` and `z`: the dict is found from the initializers.
    @Test func entriesOfADictKeepTheDict() {
        let nodes = ["/k/body/body.0/Gemm", "/k/body/body.1/body.1.1/Relu", "/j.0/out/Gemm", "/z/out/Gemm", "/k/k.0/act/Relu"]
        let tensors = ["dct.k.body.0.weight", "dct.j.0.out.weight", "seq.0.z.out.weight", "dct.k.0.fc.weight"]
        #expect(paths(nodes, tensors: tensors) == ["dct.k.body.0", "dct.k.body.1.1", "dct.j.0.out", "seq.0.z.out", "dct.k.0.act"])
    }

    /// A module called again is scoped `fc_1`: the same module, when `fc` is a scope there too; an attribute
    /// that is called `fc_1` stays itself.
    @Test func aRepeatedCallIsTheSameModule() {
        let nodes = ["/a/fc/Gemm", "/a/act/Relu", "/a/fc_1/Gemm", "/a/act_1/Relu", "/b/fc_1/Gemm"]
        let tensors = ["a.fc.weight", "b.fc_1.weight"]
        #expect(paths(nodes, tensors: tensors) == ["a.fc", "a.act", "a.fc", "a.act", "b.fc_1"])
    }

    /// `head1["hidden"]` and `head2["hidden"]` of two ModuleDicts, called from the model's forward: `hidden` and
    /// `hidden_1`, told apart by the weights each reads. A weight tied in from another head is read across: the
    /// op stays in the scope's own module (`heads.1.fc` reading `heads.0.fc.weight`).
    @Test func modulesOfOneNameAreToldApartByWhatTheyRead() {
        let nodes = ["/hidden/Gemm", "/hidden_1/Gemm", "/out/Gemm", "/out_1/Gemm", "/heads.1/fc/MatMul"]
        let reads = [
            "/hidden/Gemm": ["head1.hidden.weight"], "/hidden_1/Gemm": ["head2.hidden.weight"],
            "/out/Gemm": ["head1.out.weight"], "/out_1/Gemm": ["head2.out.weight"], "/heads.1/fc/MatMul": ["heads.0.fc.weight"],
        ]
        let tensors = ["head1.hidden.weight", "head2.hidden.weight", "head1.out.weight", "head2.out.weight", "heads.0.fc.weight", "heads.1.norm.weight"]
        #expect(paths(nodes, tensors: tensors, reads: reads) == ["head1.hidden", "head2.hidden", "head1.out", "head2.out", "heads.1.fc"])
    }

    /// Nothing known to place a scope by: taken as it is written, below its parent.
    @Test func unknownScopesNestAsWritten() {
        #expect(paths(["/enc/blocks/blocks.3/Relu", "Gemm_7"], tensors: []) == ["enc.blocks.3", nil])
        #expect(TorchScriptScopes.unqualified("tasks.seg.body.1.0") == "body.1.0")
        #expect(TorchScriptScopes.unqualified("0.1") == "0.1")
    }
}
