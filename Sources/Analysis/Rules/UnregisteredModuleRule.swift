import FormatSupport
import GraphIR
import OrderedCollections

/// Finds modules with parameters that the forward calls but the model does not register: held in a plain
/// Python list or dict (`self.heads = [nn.Linear(16, 2) for _ in range(3)]`), the forum's "my heads do not
/// train". The exporter traces them like the rest, so the verdict about them stands; this says why training
/// will not touch them.
public struct UnregisteredModuleRule: Rule {
    public init() {}

    public static let description = RuleDescription(
        id: "unregistered-module",
        severity: .warning,
        summary: "Modules with parameters that the forward calls (or parameters it computes with), held in a plain Python list or dict, in the class body, or made by the forward itself, where the model does not register them.",
        rationale: """
            nn.Module registers the modules assigned to its attributes and those in nn.ModuleList / nn.ModuleDict, \
            not those in a plain list, tuple or dict, nor a module written in the class body (a class attribute, one \
            object that every instance shares), nor one the forward makes (`head = nn.Linear(16, 4)` written in it: its \
            weights made anew on every call). Their parameters are then not in `model.parameters()`: an \
            optimizer built from it never updates them, `model.to(device)` leaves them behind, and `state_dict()` \
            does not save them — heads that look independent and never train. The graphcheck_torch exporter finds \
            them in the model's attributes and traces them like the model's own, so the other rules check them too; \
            the verdict does not depend on this warning.
            """,
        fix: "Hold them in `nn.ModuleList([...])` or `nn.ModuleDict({...})` (parameters in `nn.ParameterList` / `nn.ParameterDict`) instead of a list or dict; create a module written in the class body or in the forward once in `__init__`.",
        triggeringExamples: [
            RuleExamples.listedHeads(registered: false), RuleExamples.classAttributeHeads, RuleExamples.headMadeInForward,
            RuleExamples.listedWeights(registered: false),
        ],
        nonTriggeringExamples: [
            RuleExamples.listedHeads(registered: true), RuleExamples.listedHeads(registered: false, frozen: true),
            RuleExamples.listedWeights(registered: true),
        ],
        pytorch: RuleExamples.unregistered)

    public func check(_ context: AnalysisContext) -> [Finding] {
        let findings = modules(context.graph)
        return findings + parameters(context.graph, besides: Set(findings.flatMap { $0.unregisteredModule?.storages.map(\.id) ?? [] }))
    }

    /// Parameters held bare where nn.Module does not register them (`self.w = [nn.Parameter(...)]`, a Parameter
    /// in the class body), by the attribute holding them: the same trap without a module around them.
    private func parameters(_ graph: Graph, besides covered: Set<StorageID>) -> [Finding] {
        var held: OrderedDictionary<String, [StorageID]> = [:]
        for s in graph.storageIDs where !graph[s].registered && graph[s].trainable && !graph[s].readers.isEmpty && !covered.contains(s) {
            held[ModulePath.parent(of: graph[s].names[0]).map(String.init) ?? "", default: []].append(s)
        }
        return held.map { container, storages in
            let holder: Evidence.UnregisteredModule.Holder = container.isEmpty || graph.modules.contains { $0.path == container && $0.registered } ? .attribute : .list
            let evidence = Evidence.UnregisteredModule(
                container: container, held: holder, modules: storages.map { graph[$0].names[0] }, types: [Evidence.UnregisteredModule.parameterType],
                storages: storages.map { StorageRef($0, in: graph) }, places: storages.compactMap { graph[$0].readers.min() }.map { NodeRef($0, in: graph) })
            return Finding(severity: Self.description.severity, evidence: .unregisteredModule(evidence))
        }
    }

    private func modules(_ graph: Graph) -> [Finding] {
        let unregistered = Set(graph.modules.filter { !$0.registered }.map(\.path))
        guard !unregistered.isEmpty else { return [] }
        // The outermost unregistered modules, by the attribute that holds them (`heads` of `heads.0`).
        var held: OrderedDictionary<String, [String]> = [:]
        for path in unregistered.sorted() where !ModulePath.ancestors(of: path).contains(where: { unregistered.contains(String($0)) }) {
            held[ModulePath.parent(of: path).map(String.init) ?? "", default: []].append(path)
        }
        var findings: [Finding] = []
        for (container, modules) in held {
            let storages = graph.storageIDs.filter { s in graph[s].names.contains { name in modules.contains { modulePath(name, isWithin: $0) } } }
            // Activations in a list hold nothing to train; a frozen network kept out of the optimizer on purpose
            // (a perceptual-loss VGG wrapped in a list) trains nothing anyway.
            guard storages.contains(where: { graph[$0].kind == .parameter && graph[$0].trainable }) else { continue }
            var places: [NodeRef] = []
            for module in modules {
                if let op = graph.nodes.indices.first(where: { modulePath(graph.nodes[$0].module, isWithin: module) }) {
                    places.append(NodeRef(NodeID(op), in: graph))
                }
            }
            guard !places.isEmpty else { continue }  // never called: nothing of the forward depends on it
            let types = OrderedSet(graph.modules.filter { modules.contains($0.path) }.map(\.type))
            // Made by the forward (the exporter says so); else held by a module of the model itself rather than by
            // a list or dict attribute: an attribute nn.Module never saw (a module in the class body).
            let held: Evidence.UnregisteredModule.Holder =
                graph.modules.contains { modules.contains($0.path) && $0.madeInForward } ? .forward
                : graph.modules.contains { $0.path == container && $0.registered } ? .attribute : .list
            let evidence = Evidence.UnregisteredModule(
                container: container, held: held, modules: modules, types: Array(types),
                storages: storages.map { StorageRef($0, in: graph) }, places: places)
            findings.append(Finding(severity: Self.description.severity, evidence: .unregisteredModule(evidence)))
        }
        return findings
    }
}

extension Evidence {
    /// Modules in a plain list or dict attribute (`container`) that the forward calls.
    public struct UnregisteredModule: EvidenceContent, Equatable {
        public static var rule: RuleDescription { UnregisteredModuleRule.description }

        /// The attribute holding them, as a module path (`heads`, `decoder.blocks`), or the module whose
        /// unregistered attributes they are (`attribute`).
        public var container: String
        public var held: Holder
        public enum Holder: String, Sendable {
            /// Entries of a plain list, tuple or dict attribute (`container`).
            case list
            /// Attributes of the module `container` itself that nn.Module never saw (a module in the class
            /// body, `proj = nn.Linear(16, 16)`, which every instance shares).
            case attribute
            /// Made by the forward of `container` (`head = nn.Linear(16, 4)` written in it).
            case forward
        }
        /// The modules, or the parameters when they are held bare (`types` is then `[parameterType]`).
        public var modules: [String]
        public var types: [String]
        public var storages: [StorageRef]
        /// Each module's first op (each parameter's first reader).
        public var places: [NodeRef]

        public var branches: [String] { [] }
        /// What `types` says for parameters held bare, with no module around them.
        public static let parameterType = "Parameter"
        var bare: Bool { types == [Self.parameterType] }

        public var wording: Wording {
            let parameters = storages.filter { $0.kind == .parameter }.count
            let tensors = [plural(parameters, "parameter"), plural(storages.count - parameters, "buffer")].filter { !$0.hasPrefix("0 ") }
            let one = modules.count == 1
            let attribute = "self.\(ModulePath.split(tensor: modules[0]).attribute)"
            let (how, fix): (String, String)
            switch held {
            case .list:
                let (list, dict) = bare ? ("ParameterList", "ParameterDict") : ("ModuleList", "ModuleDict")
                how = "\(one ? "is" : "are") held in `\(container)`, a plain Python list or dict: the model does not register \(one ? "it" : "them")"
                fix = "hold them in `nn.\(list)([...])` or `nn.\(dict)({...})`: `self.\(container.split(separator: ".").last.map(String.init) ?? container) = nn.\(list)(...)`"
            case .attribute:
                how = "\(one ? "is an attribute" : "are attributes") of \(container.isEmpty ? "the model" : "`\(container)`") that nn.Module does not register "
                    + "(set in the class body, where every instance shares \(one ? "it" : "them"), or past `__setattr__`)"
                fix = "create \(one ? "it" : "them") in `__init__` (`\(attribute) = ...`): nn.Module then registers \(one ? "it" : "them") and each instance gets its own"
            case .forward:
                how = "\(one ? "is" : "are") made in \(container.isEmpty ? "the model's forward" : "the forward of `\(container)`"): every call makes \(one ? "its" : "their") weights anew (initialised, never trained), "
                    + "and the model does not register \(one ? "it" : "them")"
                fix = "create \(one ? "it" : "them") once in `__init__` (`\(attribute) = ...`) and call \(one ? "it" : "them") in forward"
            }
            return Wording(
                message: "\(list(modules)) (\(types.joined(separator: ", "))) \(how), so `model.parameters()` misses "
                    + (bare ? (one ? "it" : "them") : "\(one ? "its" : "their") \(tensors.joined(separator: " and "))"),
                details: places.map { "\($0.op) \($0.located)" },
                notes: [
                    "an optimizer built from model.parameters() never updates them, model.to(device) leaves them behind and state_dict() "
                        + "does not save them; graphcheck traced them as the forward \(bare ? "used" : "called") them, so the verdict covers them",
                    "a network kept out of the optimizer on purpose is usually frozen too: `requires_grad_(False)` says so, and silences this",
                ],
                help: fix)
        }
    }
}
