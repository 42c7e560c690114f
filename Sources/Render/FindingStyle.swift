import Analysis
import FormatSupport
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

    /// The group whose module paths contain `path` or (for a box, which holds what is inside it) lie inside it.
    func colour(forModule path: String, holdsModules: Bool) -> (strong: String, light: String)? {
        for entry in groups
        where entry.group.paths.contains(where: { modulePath(path, isWithin: $0) || (holdsModules && modulePath($0, isWithin: path)) }) {
            return (entry.strong, entry.light)
        }
        return nil
    }

    func apply(to view: inout ViewGraph, graph: Graph, opModule: [Int: String], boxes: [String: Int], storageNode: [Int: Int], clusterOf: [String: Int]) {
        var used = Set<String>()
        for (id, node) in view.nodes.enumerated() where node.kind == .op {
            if let path = opModule[id], !path.isEmpty, let c = colour(forModule: path, holdsModules: false) {
                view.nodes[id].fill = c.light
                view.nodes[id].outline = c.strong
                used.insert(c.strong)
            }
        }
        for (path, id) in boxes {
            if let c = colour(forModule: path, holdsModules: true) {
                view.nodes[id].fill = c.light
                view.nodes[id].outline = c.strong
                used.insert(c.strong)
            }
        }
        for entry in groups {
            for s in entry.group.storages {
                guard let id = storageNode[s.id.index], view.nodes[id].kind == .storage else { continue }
                view.nodes[id].fill = entry.strong
                used.insert(entry.strong)
            }
            for path in entry.group.paths {
                if let c = clusterOf[path] {
                    view.clusters[c].outline = entry.strong
                    used.insert(entry.strong)
                }
            }
        }
        // Only what the picture shows: a group whose colour no node or cluster took is not named.
        for entry in groups where used.contains(entry.strong) {
            view.legend.append(ViewGraph.LegendEntry(swatch: .node(fill: entry.light, outline: entry.strong), text: "shared: " + entry.group.label))
        }
        view.title = TextReporter.verdict(report, standingAlone: true)
    }
}

/// Legend lines for the edges a picture draws (red cross-branch edges, dashed parameter and state reads)
/// and for what it leaves out.
extension ViewGraph {
    mutating func explainEdges() {
        if edges.contains(where: { $0.kind == .crossBranch || $0.kind == .crossBranchState }) {
            legend.append(LegendEntry(swatch: .edge(colour: FindingStyle.crossBranchColour, dashed: false), text: "cross-branch dependency"))
        }
        if edges.contains(where: { $0.kind == .state }) {
            legend.append(LegendEntry(swatch: .edge(colour: "#999999", dashed: true), text: "reads a parameter or buffer"))
        }
        if foldedShapeOps > 0 {
            legend.append(LegendEntry(swatch: .none, text: "not drawn: \(plural(foldedShapeOps, "op")) that only compute with shapes (size → int)"))
        }
    }
}
