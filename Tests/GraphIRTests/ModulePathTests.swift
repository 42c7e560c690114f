import GraphIR
import Testing

@Suite struct ModulePathTests {
    @Test func parentsAndAncestors() {
        #expect(ModulePath.parent(of: "a.b.c") == "a.b")
        #expect(ModulePath.parent(of: "a") == "")
        #expect(ModulePath.parent(of: "") == nil)
        #expect(Array(ModulePath.ancestors(of: "a.b.c")) == ["a.b", "a"])
        #expect(Array(ModulePath.ancestors(of: "a")).isEmpty)
    }

    @Test func tensorNamesSplitIntoModuleAndAttribute() {
        #expect(ModulePath.split(tensor: "branch1.norm5.running_mean") == ("branch1.norm5", "running_mean"))
        #expect(ModulePath.split(tensor: "w") == ("", "w"))
    }

    @Test(arguments: [("a.b", "a", true), ("a", "a", true), ("ab", "a", false), ("a", "a.b", false), ("x", "", true)])
    func isWithin(path: String, prefix: String, expected: Bool) {
        #expect(ModulePath.isWithin(path, prefix) == expected)
    }

    @Test func childOfAPrefix() {
        #expect(ModulePath.child(of: "b1", containing: "b1.block4.conv.weight") == "b1.block4")
        #expect(ModulePath.child(of: "", containing: "trunk.conv") == "trunk")
        #expect(ModulePath.child(of: "b2", containing: "b1.x") == "b1.x", "a path outside the prefix is itself")
    }

    @Test func commonModuleOfPaths() {
        #expect(ModulePath.common(["model.backbone.conv", "model.head", "model"]) == "model")
        #expect(ModulePath.common(["model.head", "model.head_dist"]) == "model", "components, not characters")
        #expect(ModulePath.common(["a.b", "c"]) == "")
        #expect(ModulePath.common(["a.b.c", "a.b.c"]) == "a.b.c")
        #expect(ModulePath.common([String]()) == "")
    }
}
