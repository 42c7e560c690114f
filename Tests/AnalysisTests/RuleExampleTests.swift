import Analysis
import GraphCheck
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

    @Test func ruleIdsAreUniqueAndDescribed() {
        #expect(Set(Self.rules.map(\.id)).count == Self.rules.count)
        for rule in Self.rules {
            #expect(!rule.summary.isEmpty && !rule.rationale.isEmpty && !rule.fix.isEmpty)
        }
    }
}
