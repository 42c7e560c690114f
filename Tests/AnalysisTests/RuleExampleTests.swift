import Analysis
import Foundation
import GraphCheck
import GraphIR
import Testing
import TestSupport

/// Each rule's own examples are its executable documentation: the triggering ones must produce a finding
/// of that rule, the others must not.
@Suite struct RuleExampleTests {
    static let rules = allRules.map { type(of: $0).description }

    func findings(_ spec: String) throws -> [Finding] {
        let input = try Repository.trace(spec)
        return try Analyzer.analyze(input.graph, branches: input.declaredBranches).findings
    }

    @Test(arguments: rules.map(\.id))
    func triggeringExamplesTrigger(id: String) throws {
        let description = Self.rules.first { $0.id == id }!
        #expect(!description.triggeringExamples.isEmpty)
        for example in description.triggeringExamples {
            let found = try findings(example)
            #expect(found.contains { $0.rule == id }, "\(id) did not fire on:\n\(example)\nfindings: \(found.map(\.rule))")
        }
    }

    @Test(arguments: rules.map(\.id))
    func nonTriggeringExamplesDoNot(id: String) throws {
        let description = Self.rules.first { $0.id == id }!
        #expect(!description.nonTriggeringExamples.isEmpty)
        for example in description.nonTriggeringExamples {
            let found = try findings(example)
            #expect(!found.contains { $0.rule == id }, "\(id) fired on:\n\(example)\nfindings: \(found.map(\.message))")
        }
    }

    /// A data edge is pointed at where the user can find it: the op that carries the first value across,
    /// with its line (`file:line` in a PyTorch trace).
    @Test func aDataEdgeNamesWhereItCrosses() throws {
        let example = CrossBranchDependencyRule.description.triggeringExamples[0]
        let cross = try #require(try findings(example).first { $0.rule == "cross-branch-dependency" })
        let line = try #require(example.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("\"op\": \"add\"") }) + 1
        #expect(cross.details == ["head2 ← head1: 1 data edge, first `add` in the model's forward, line \(line)"])
    }

    /// A module written in the class body, or made in the forward, is said to be one, with the fix for it (not
    /// "hold them in nn.ModuleList", which is the fix for a list).
    @Test func aClassAttributeModuleIsToldFromAListedOne() throws {
        let attribute = try findings(UnregisteredModuleRule.description.triggeringExamples[1]).filter { $0.rule == "unregistered-module" }
        #expect(attribute.map(\.message) == ["head1", "head2"].map {
            "\($0).proj (Linear) is an attribute of `\($0)` that nn.Module does not register (set in the class body, where every instance "
                + "shares it, or past `__setattr__`), so `model.parameters()` misses its 1 parameter"
        })
        #expect(attribute.allSatisfy { $0.help == "create it in `__init__` (`self.proj = ...`): nn.Module then registers it and each instance gets its own" })
        let made = try findings(UnregisteredModuleRule.description.triggeringExamples[2]).filter { $0.rule == "unregistered-module" }
        #expect(made.map(\.message) == [
            "head2 (Linear) is made in the model's forward: every call makes its weights anew (initialised, never trained), and the model does not register it, so "
                + "`model.parameters()` misses its 1 parameter"])
        #expect(made.map(\.help) == ["create it once in `__init__` (`self.head2 = ...`) and call it in forward"])
        let listed = try findings(UnregisteredModuleRule.description.triggeringExamples[0]).filter { $0.rule == "unregistered-module" }
        #expect(listed.map(\.message) == [
            "heads.0, heads.1 (Linear) are held in `heads`, a plain Python list or dict: the model does not register them, so "
                + "`model.parameters()` misses their 2 parameters"])
    }

    @Test func ruleIdsAreUniqueAndDescribed() {
        #expect(Set(Self.rules.map(\.id)).count == Self.rules.count)
        for rule in Self.rules {
            #expect(!rule.summary.isEmpty && !rule.rationale.isEmpty && !rule.fix.isEmpty)
        }
    }

    /// docs/rules/ is generated from the descriptions; a changed description without regenerating fails here.
    @Test(arguments: rules.map(\.id))
    func ruleDocumentationIsUpToDate(id: String) throws {
        let path = Repository.path("docs/rules/\(id).md")
        let committed = try? String(contentsOfFile: path, encoding: .utf8)
        #expect(committed == RuleDocumentation.markdown(Self.rules.first { $0.id == id }!),
            "docs/rules/\(id).md is stale or missing: run scripts/generate-rule-docs.sh")
        let index = try String(contentsOfFile: Repository.path("docs/rules/README.md"), encoding: .utf8)
        #expect(index.contains("[`\(id)`](\(id).md)"), "docs/rules/README.md lacks \(id): run scripts/generate-rule-docs.sh")
    }
}
