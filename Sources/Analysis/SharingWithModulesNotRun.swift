import GraphIR

extension Analyzer {
    /// Storage a found head shares with a head that did not run in this trace: LXMERT's `obj_predict_head`
    /// (called only given visual labels) built around `cls.predictions`' LayerNorm. Whenever both run they
    /// train that tensor together: a fact of the model, whichever heads this trace ran. Only modules beside
    /// a head (children of a branch's parent) count; one that is the very object of a module that ran (an
    /// alias attribute, `self.classifier = self.heads[0]`) is that module under another name, no head.
    static func sharingWithModulesNotRun(_ context: AnalysisContext, _ branches: [Branch], notRun: [String], ran: Set<String>) -> [Finding] {
        let graph = context.graph
        let levels = Set(branches.map { ModulePath.parent(of: $0.name) ?? "" })
        let ranObjects = Set(graph.modules.filter { ran.contains($0.path) }.compactMap(\.instance))
        let instances = Dictionary(graph.modules.compactMap { m in m.instance.map { (m.path, $0) } }) { a, _ in a }
        let idle = notRun.filter { path in
            levels.contains(ModulePath.parent(of: path) ?? "") && !(instances[path].map(ranObjects.contains) ?? false)
                && !branches.contains { $0.prefixes.contains { modulePath(path, isWithin: $0) || modulePath($0, isWithin: path) } }
        }
        guard !idle.isEmpty, branches.count + idle.count <= BranchSet.capacity else { return [] }
        return SharedStorageRule().check(context.with(branches: branches + idle.map { Branch(name: $0) })).filter { finding in
            guard case .sharedStorage(let evidence) = finding.evidence else { return false }
            return evidence.branches.contains(where: idle.contains)
        }
    }
}
