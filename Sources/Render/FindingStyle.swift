import Analysis
import GraphIR

/// How findings look: every shared-storage group in its own colour (its tensors filled, its modules
/// tinted and outlined), cross-branch edges red, a legend, and the verdict as the title.
struct FindingStyle {
    /// Strong and light shades; red is kept for cross-branch edges.
    static let palette: [(strong: String, light: String)] = [
        ("#1f77b4", "#d6e6f4"), ("#ff7f0e", "#ffe5cc"), ("#2ca02c", "#d9f2d9"), ("#9467bd", "#eae1f3"),
        ("#8c564b", "#eddcd8"), ("#e377c2", "#f9e1f0"), ("#17becf", "#d3f4f7"), ("#bcbd22", "#f2f2cc"),
    ]
    static let crossBranchColour = "#d62728"

    let report: Report
    let groups: [(group: ModuleGroup, strong: String, light: String)]

    init(report: Report) {
        self.report = report
        let shared = report.findings.flatMap { $0.sharedStorage?.groups ?? [] }
        groups = shared.enumerated().map { i, group in
            let colour = FindingStyle.palette[i % FindingStyle.palette.count]
            return (group, colour.strong, colour.light)
        }
    }

    /// The group whose module paths contain `path` or lie inside it.
    func colour(forModule path: String) -> (strong: String, light: String)? {
        for entry in groups
        where entry.group.paths.contains(where: { modulePath(path, isWithin: $0) || modulePath($0, isWithin: path) }) {
            return (entry.strong, entry.light)
        }
        return nil
    }

    func apply(to view: inout ViewGraph, graph: Graph, owner: [String?], boxes: [String: Int], storageNode: [Int: Int], clusterOf: [String: Int]) {
        for (id, node) in view.nodes.enumerated() where node.kind == .op {
            if let path = owner[id], let c = colour(forModule: path) {
                view.nodes[id].fill = c.light
                view.nodes[id].outline = c.strong
            }
        }
        for (path, id) in boxes {
            if let c = colour(forModule: path) {
                view.nodes[id].fill = c.light
                view.nodes[id].outline = c.strong
            }
        }
        for entry in groups {
            for s in entry.group.storages {
                guard let id = storageNode[s.id.index], view.nodes[id].kind == .storage else { continue }
                view.nodes[id].fill = entry.strong
            }
            for path in entry.group.paths {
                if let c = clusterOf[path] { view.clusters[c].outline = entry.strong }
            }
        }
        addLegend(to: &view)
        view.title = TextReporter.verdict(report)
    }

    private func addLegend(to view: inout ViewGraph) {
        var legend = ViewGraph.Cluster(label: "legend")
        for entry in groups {
            view.nodes.append(ViewGraph.Node(kind: .legend, lines: ["shared: " + entry.group.label], fill: entry.strong))
            legend.nodes.append(view.nodes.count - 1)
        }
        if view.edges.contains(where: { $0.kind == .crossBranch }) {
            view.nodes.append(ViewGraph.Node(kind: .legend, lines: ["red edges: cross-branch dependencies"], outline: FindingStyle.crossBranchColour))
            legend.nodes.append(view.nodes.count - 1)
        }
        guard !legend.nodes.isEmpty else { return }
        view.clusters.append(legend)
        view.rootClusters.append(view.clusters.count - 1)
    }
}
