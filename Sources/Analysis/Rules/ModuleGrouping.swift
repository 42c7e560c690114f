import GraphIR
import OrderedCollections
import Synchronization

/// Groups shared storages at the highest module that is shared, so that 197 shared tensors read as two
/// lines — `branch1.denseblock4 ≡ … ≡ branch5.denseblock4 (_DenseBlock)` and the same for `norm5` —
/// instead of 197 names.
///
/// The tables are built on first use: most graphs have nothing to group, and the tables cost a pass over
/// every module and storage name (a second or more at a million ops). Rules run concurrently, so the first
/// use builds them under a lock.
final class ModuleGrouping: Sendable {
    private struct Tables {
        var instanceByPath: [String: String] = [:]
        var typeByPath: [String: String] = [:]
        /// Without module identities (traces from producers that cannot tell), two module paths count as
        /// one module when every tensor name under one names the same storage under the other.
        var contentsByPath: [String: [String: Int]] = [:]
    }

    let graph: Graph
    let map: BranchMap
    private let built = Mutex<Tables?>(nil)

    init(graph: Graph, map: BranchMap) {
        self.graph = graph
        self.map = map
    }

    private var tables: Tables {
        built.withLock { tables in
            if let tables { return tables }
            var made = Tables()
            for module in graph.modules { if let instance = module.instance { made.instanceByPath[module.path] = instance } }
            made.typeByPath = graph.moduleTypes()
            if made.instanceByPath.isEmpty {
                for (index, storage) in graph.storages.enumerated() {
                    for name in storage.names {
                        for path in ModulePath.ancestors(of: name) {
                            made.contentsByPath[String(path), default: [:]][String(name.dropFirst(path.count + 1))] = index
                        }
                        made.contentsByPath["", default: [:]][name] = index
                    }
                }
            }
            tables = made
            return made
        }
    }

    func type(of path: String) -> String { tables.typeByPath[path] ?? "" }
    func instance(of path: String) -> String? { tables.instanceByPath[path] }

    /// Groups `storages`, each shared among `branches`, in storage order.
    func group(_ storages: [StorageID], among branches: BranchSet) -> [ModuleGroup] {
        var groups: OrderedDictionary<[String], ModuleGroup> = [:]
        for s in storages {
            let key = groupPaths(s, branches)
            groups[key.paths, default: ModuleGroup(paths: key.paths, type: key.type, sameObject: key.sameObject, storages: [])]
                .storages.append(StorageRef(s, in: graph))
        }
        return Array(groups.values)
    }

    /// The highest module paths, one per branch, that are one object and hold `s`; or the storage's own
    /// names when its modules differ (weights tied by assignment).
    private func groupPaths(_ s: StorageID, _ branches: BranchSet) -> (paths: [String], type: String, sameObject: Bool) {
        let storage = graph[s]
        let tables = self.tables
        var relative: [String] = []
        var prefixes: [String] = []
        // A branch of several modules (`task with cond, out`) holds the tensor under whichever of its prefixes names it.
        for b in branches {
            let found = map.prefixes[b].lazy.compactMap { prefix in
                storage.names.first { modulePath($0, isWithin: prefix) && $0 != prefix }.map { (prefix, $0) }
            }.first
            guard let (prefix, name) = found else { return (storage.names, "", false) }
            prefixes.append(prefix)
            relative.append(String(name.dropFirst(prefix.count + 1)))
        }
        guard let first = relative.first, relative.allSatisfy({ $0 == first }) else {
            return (zip(prefixes, relative).map { "\($0).\($1)" }, "", false)
        }
        let components = first.split(separator: ".").map(String.init).dropLast()
        for depth in 0...components.count {
            let suffix = components.prefix(depth).joined(separator: ".")
            let paths = prefixes.map { suffix.isEmpty ? $0 : "\($0).\(suffix)" }
            let instances = paths.map { tables.instanceByPath[$0] }
            if let one = instances.first, one != nil, instances.allSatisfy({ $0 == one }) {
                return (paths, tables.typeByPath[paths[0]] ?? "", true)
            }
            if tables.instanceByPath.isEmpty, let contents = tables.contentsByPath[paths[0]],
                paths.dropFirst().allSatisfy({ tables.contentsByPath[$0] == contents })
            {
                return (paths, tables.typeByPath[paths[0]] ?? "", false)
            }
        }
        let leaf = components.joined(separator: ".")
        let paths = prefixes.map { leaf.isEmpty ? $0 : "\($0).\(leaf)" }
        return (zip(paths, relative).map { "\($0.0).\($0.1.split(separator: ".").last!)" }, "", false)
    }
}
