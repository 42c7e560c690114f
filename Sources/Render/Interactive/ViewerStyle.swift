/// The HTML view's stylesheet. Inline, allowed by its hash in the page's Content-Security-Policy.
enum ViewerStyle {
    static let css = #"""
        * { box-sizing: border-box; }
        html, body { margin: 0; height: 100%; font: 13px/1.4 Helvetica, Arial, "Liberation Sans", sans-serif; color: #222; }
        body { display: flex; flex-direction: column; }
        header { display: flex; align-items: center; gap: 12px; padding: 6px 10px; border-bottom: 1px solid #ccc; background: #fafafa; }
        header h1 { font-size: 14px; margin: 0; flex: 1; font-weight: 600; }
        header h1.bad { color: #b3261e; }
        header h1.good { color: #1b6e20; }
        header input { width: 260px; padding: 3px 6px; }
        header button { padding: 3px 8px; }
        main { flex: 1; display: flex; min-height: 0; }
        #canvas { flex: 1; min-width: 0; background: white; cursor: grab; user-select: none; }
        #canvas.dragging { cursor: grabbing; }
        aside { width: 380px; overflow-y: auto; border-left: 1px solid #ccc; padding: 8px 10px; background: #fcfcfc; }
        aside h2 { font-size: 13px; margin: 10px 0 4px; }
        .finding { border: 1px solid #ddd; border-left: 4px solid #999; padding: 4px 6px; margin: 4px 0; cursor: pointer; background: white; }
        .finding.error { border-left-color: #d62728; }
        .finding.warning { border-left-color: #ff9f0e; }
        .finding.info { border-left-color: #1f77b4; }
        .finding.selected { background: #fff1f0; }
        .finding .more { display: none; font-size: 12px; color: #444; }
        .finding.selected .more { display: block; }
        .finding ul { margin: 2px 0 2px 16px; padding: 0; }
        .finding button { margin: 4px 4px 0 0; font-size: 12px; }
        #details dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 2px 8px; font-size: 12px; }
        #details dt { color: #666; }
        #details dd { margin: 0; word-break: break-all; }
        #results div { cursor: pointer; padding: 1px 2px; font-size: 12px; word-break: break-all; }
        #results div:hover { background: #eef; }
        #tip { position: fixed; pointer-events: none; background: rgba(255,255,255,0.97); border: 1px solid #999; padding: 4px 6px;
               font-size: 12px; max-width: 420px; box-shadow: 0 1px 4px rgba(0,0,0,0.2); white-space: pre-wrap; word-break: break-all; }
        #tip[hidden] { display: none; }
        .keys { color: #666; font-size: 11px; }
        svg text { font-family: Helvetica, Arial, "Liberation Sans", sans-serif; font-size: 10px; fill: #222; }
        .node rect { fill: #f2f2f2; stroke: #888; stroke-width: 1; }
        .node.op rect { rx: 4px; }
        .node.module rect { fill: #e8eef7; stroke: #7a8fb0; cursor: pointer; }
        .node.module:hover rect { stroke-width: 2; }
        .node.io rect { fill: #fff6d5; rx: 10px; }
        .cluster > rect.frame { fill: #f7f9fc; fill-opacity: 0.6; stroke: #b0b0b0; rx: 6px; }
        .cluster > text.head { font-weight: 600; fill: #445; cursor: pointer; }
        .cluster > rect.headhit { fill: transparent; cursor: pointer; }
        .port { fill: #666; }
        .edge { fill: none; stroke: #888; stroke-width: 1.2; }
        .edge:hover { stroke: #333; stroke-width: 2; }
        .edgelabel { font-size: 8px; fill: #666; }
        .hl > rect, .hl > rect.frame { stroke: #d62728 !important; stroke-width: 3 !important; }
        .edge.hl { stroke: #d62728; stroke-width: 2.5; }
        .match > rect { stroke: #ff9f0e !important; stroke-width: 3 !important; }
        .selected-node > rect { stroke: #1f77b4 !important; stroke-width: 3 !important; }
        """#
}
