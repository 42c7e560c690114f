import FormatSupport
import GraphIR

/// Evidence as JSON data: one object per finding under `"evidence"`, keys in a fixed order. Ops and tensors
/// are referred to by their index in the graph; each is described once, in the report's `"ops"` and
/// `"tensors"` tables, which collect what the findings refer to (docs/report.schema.json).
struct EvidenceJSON {
    private(set) var nodes: [Int: NodeRef] = [:]
    private(set) var storages: [Int: StorageRef] = [:]

    mutating func render(_ evidence: Evidence) -> String {
        switch evidence {
        case .sharedStorage(let e):
            var fields = [
                ("branches", strings(e.branches)), ("declared", "\(e.declared)"), ("cause", cause(e.cause)),
                ("groups", array(e.groups.map { group($0) })), ("storages", tensors(e.storages)),
                ("running_statistics", strings(e.runningStatistics)), ("statistics_modules", "\(e.statisticsModules)"),
            ]
            if case .slicedContainers(let types) = e.cause { fields.insert(("container_types", strings(types)), at: 3) }
            return object(fields + [("edges", "\(e.edgeCount)"), ("places", ops(e.places)), ("declared_at", JSONWriter.intArray(e.declarations)),
                                   ("assigned_at", strings(e.assignments)), ("frozen", "\(e.frozen)")] + (e.within.map { [("within", quoted($0))] } ?? []))
        case .duplicateComputation(let e):
            return object([
                ("modules", strings(e.modules)), ("type", e.type.map(quoted) ?? "null"), ("calls", "\(e.calls)"), ("declared", "\(e.declared)"),
                ("places", ops(e.places)),
            ])
        case .sharedInitializer(let e):
            return object([
                ("branches", strings(e.branches)), ("initializers", tensors(e.initializers)),
                ("modules", array(e.byModule.map { object([("path", quoted($0.path)), ("initializers", "\($0.initializers)")]) })),
                ("edges", "\(e.edgeCount)"),
            ])
        case .mergedBranch(let e):
            return object([
                ("idle", quoted(e.idle)), ("busy", quoted(e.busy)), ("initializers", tensors(e.initializers)),
                ("edges", "\(e.edgeCount)"), ("places", ops(e.places)),
            ])
        case .crossBranchDependency(let e):
            // Per pair of branches, each kind's edges as [from, to]: from an op (data) or a tensor
            // (parameter, state) to the op that reads it.
            var pairs: [[Int]: [Evidence.CrossBranchDependency.Kind: [String]]] = [:]
            let storageByIndex = Dictionary(uniqueKeysWithValues: e.storages.map { ($0.id.index, $0) })
            for edge in e.edges {
                let from = edge.producer.map { op(e.nodes[$0.index]!) } ?? edge.storage.map { tensor(storageByIndex[$0.index]!) } ?? "null"
                pairs[[edge.target, edge.source], default: [:]][edge.kind, default: []].append("[\(from),\(op(e.nodes[edge.consumer.index]!))]")
            }
            let rendered = pairs.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { key in
                object(
                    [("source", quoted(e.branchNames[key[1]])), ("target", quoted(e.branchNames[key[0]]))]
                        + Evidence.CrossBranchDependency.Kind.allCases.map { ($0.rawValue, array(pairs[key]![$0] ?? [])) })
            }
            return object([
                ("branches", strings(e.branches)), ("pairs", array(rendered)), ("tensors", tensors(e.storages)), ("modules", strings(e.modules)),
                ("detach_unknown", "\(e.detachUnknown)"), ("frozen_unknown", "\(e.frozenUnknown)"),
            ])
        case .gradientLeak(let e):
            return object([
                ("owners", strings(e.owners)), ("reached", strings(e.reached)), ("declared", "\(e.declared)"),
                ("detach_unknown", "\(e.detachUnknown)"), ("frozen_unknown", "\(e.frozenUnknown)"),
                ("parameters", tensors(e.parameters)), ("groups", array(e.groups.map { group($0) })), ("modules", strings(e.modules)),
                ("edges", "\(e.edgeCount)"), ("places", ops(e.places)),
            ])
        case .inplaceHazard(let e):
            return object([
                ("node", op(e.node)), ("timing", quoted(e.timing.rawValue)), ("readers", ops(e.readers)),
                ("branches", strings(e.branches)), ("tensor", e.tensor.map(quoted) ?? "null"), ("elsewhere", "\(e.elsewhere)"),
                ("unwatched", "\(e.unwatched)"), ("earlier", ops(e.earlier)),
            ])
        case .moduleReuse(let e):
            return object([
                ("module", quoted(e.module)), ("type", e.type.map(quoted) ?? "null"), ("calls", "\(e.calls)"), ("declared", "\(e.declared)"),
                ("places", ops(e.places)), ("slots", strings(e.slots)), ("branch", e.branch.map(quoted) ?? "null"),
            ])
        case .equalCopies(let e):
            return object([("branches", strings(e.branches)), ("parameters", "\(e.parameters)"), ("places", ops(e.places))])
        case .unregisteredModule(let e):
            return object([
                ("container", quoted(e.container)), ("held", quoted(e.held.rawValue)), ("modules", strings(e.modules)), ("types", strings(e.types)), ("storages", tensors(e.storages)),
                ("places", ops(e.places)),
            ])
        }
    }

    private func cause(_ cause: Evidence.SharedStorage.Cause) -> String {
        switch cause {
        case .slicedContainers: return quoted("sliced-containers")
        case .oneObject: return quoted("one-object")
        case .oneObjectInside: return quoted("one-object-inside")
        case .reusedTensors: return quoted("reused-tensors")
        }
    }

    /// The report's `"tensors"` table entry.
    static func describe(_ s: StorageRef) -> String {
        object([("index", "\(s.id.index)"), ("id", quoted(s.key)), ("kind", quoted(s.kind.rawValue)), ("names", strings(s.names))])
    }

    /// The report's `"ops"` table entry.
    static func describe(_ n: NodeRef) -> String {
        var fields = [("index", "\(n.id.index)"), ("id", quoted(n.name)), ("op", quoted(n.op)), ("module", quoted(n.module))]
        if let source = n.source { fields.append(("source", quoted(source))) }
        if let line = n.line { fields.append(("line", "\(line)")) }
        return object(fields)
    }

    private mutating func tensor(_ s: StorageRef) -> String {
        storages[s.id.index] = s
        return "\(s.id.index)"
    }

    private mutating func tensors(_ list: [StorageRef]) -> String { "[" + list.map { tensor($0) }.joined(separator: ",") + "]" }

    private mutating func op(_ n: NodeRef) -> String {
        nodes[n.id.index] = n
        return "\(n.id.index)"
    }

    private mutating func ops(_ list: [NodeRef]) -> String { "[" + list.map { op($0) }.joined(separator: ",") + "]" }

    private mutating func group(_ g: ModuleGroup) -> String {
        object([("paths", strings(g.paths)), ("type", quoted(g.type)), ("same_object", "\(g.sameObject)"), ("tensors", tensors(g.storages))])
    }
}

private func quoted(_ s: String) -> String { JSONWriter.quoted(s) }
private func strings(_ s: [String]) -> String { JSONWriter.stringArray(s) }
private func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
private func object(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}
