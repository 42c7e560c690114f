/// The HTML view's script. It composes the levels Graphviz laid out (see docs/html-view.md): an open
/// module's slot in its parent is stretched, axis by axis, by a monotone piecewise-linear map just enough
/// to hold the module's own layout, so opening a module moves the rest apart without reordering it.
/// Every string from the model reaches the page through `textContent`, never as markup.
enum ViewerScript {
    static let js = #"""
        "use strict";
        (function () {
          const D = JSON.parse(document.getElementById("graph-data").textContent);
          const NS = "http://www.w3.org/2000/svg";
          const L = D.levels, OPS = D.ops, VALUES = D.values, STORAGES = D.storages;
          const PAD = 10, HEAD = 18;
          const svg = document.getElementById("canvas");
          const tip = document.getElementById("tip");
          const details = document.getElementById("details");
          const results = document.getElementById("results");
          const search = document.getElementById("search");
          let open = initialOpen();
          let view = { x: 0, y: 0, k: 1 };
          let viewport = null;
          let drawn = new Map();      // "o:3" / "l:5" -> element
          let edgesDrawn = [];        // { el, values, target }
          let highlight = { ops: new Set(), values: new Set() };
          let selectedKey = null;

          function depthOf(path) { return path === "" ? 0 : path.split(".").length; }
          function initialOpen() {
            const s = new Set([0]);
            L.forEach((l, i) => { if (D.openDepth === null || depthOf(l.path) < D.openDepth) s.add(i); });
            return s;
          }
          function el(name, attrs, parent) {
            const e = document.createElementNS(NS, name);
            for (const k in attrs) e.setAttribute(k, attrs[k]);
            if (parent) parent.appendChild(e);
            return e;
          }

          // A monotone map of one axis: each open child's interval [a, b] must grow to at least `need`.
          function stretch(intervals) {
            if (intervals.length === 0) return (x) => x;
            const pts = Array.from(new Set(intervals.flatMap((i) => [i[0], i[1]]))).sort((a, b) => a - b);
            const scale = new Array(pts.length).fill(1);
            for (const [a, b, need] of intervals) {
              const s = Math.max(1, need / Math.max(b - a, 1e-6));
              for (let k = 0; k + 1 < pts.length; k++) if (pts[k] >= a && pts[k + 1] <= b) scale[k] = Math.max(scale[k], s);
            }
            const cum = [pts[0]];
            for (let k = 0; k + 1 < pts.length; k++) cum.push(cum[k] + (pts[k + 1] - pts[k]) * scale[k]);
            const last = pts.length - 1;
            return (x) => {
              if (x <= pts[0]) return x;
              if (x >= pts[last]) return cum[last] + (x - pts[last]);
              let lo = 0, hi = last;
              while (hi - lo > 1) { const m = (lo + hi) >> 1; if (pts[m] <= x) lo = m; else hi = m; }
              return cum[lo] + (x - pts[lo]) * scale[lo];
            };
          }

          // Each level's placement and elements are kept. A click re-places only the levels from the clicked
          // module up to the root and updates their elements where they are (a transform, a size); the
          // levels inside stay attached as they were, so the browser restyles next to nothing.
          const cache = new Map();   // level -> { placed, g, items, edges, keys, children, drawnFor }
          function forget(li) { for (let l = li; l !== null; l = L[l].parent) { const c = cache.get(l); if (c) c.placed = null; } }
          function setOpen(li, on) {
            if (li === 0 || open.has(li) === on) return;
            if (on) open.add(li); else open.delete(li);
            forget(L[li].parent);
          }
          // The placed level: sizes, item positions, open children, port pins, edges as point lists.
          function place(li) {
            const known = cache.get(li);
            if (known && known.placed) return known.placed;
            const lv = L[li];
            const subs = new Map(), xs = [], ys = [];
            lv.items.forEach((it, i) => {
              if (it[0] === 1 && open.has(it[1])) {
                const sub = place(it[1]);
                sub.needW = Math.max(sub.w + 2 * PAD, 120);
                sub.needH = sub.h + HEAD + PAD;
                subs.set(i, sub);
                xs.push([it[2] - it[4] / 2, it[2] + it[4] / 2, sub.needW]);
                ys.push([it[3] - it[5] / 2, it[3] + it[5] / 2, sub.needH]);
              }
            });
            const fx = stretch(xs), fy = stretch(ys);
            const W = fx(lv.w), H = fy(lv.h);
            const nodes = lv.items.map((it, i) => {
              const n = { kind: it[0], ref: it[1], ox: it[2], oy: it[3], x: fx(it[2]), y: fy(it[3]), w: it[4], h: it[5] };
              const sub = subs.get(i);
              if (sub) {
                const x0 = fx(it[2] - it[4] / 2), x1 = fx(it[2] + it[4] / 2), y0 = fy(it[3] - it[5] / 2), y1 = fy(it[3] + it[5] / 2);
                n.w = sub.needW; n.h = sub.needH; n.x = (x0 + x1) / 2; n.y = (y0 + y1) / 2;
                n.sub = sub;
                n.cx = n.x - n.w / 2 + PAD; n.cy = n.y - n.h / 2 + HEAD;   // where the child's content starts
              }
              if (li !== 0 && (it[0] === 2 || it[0] === 3)) n.y = it[0] === 2 ? H + PAD : -HEAD;   // pins on the border
              return n;
            });
            const pins = new Map();
            nodes.forEach((n) => { if (li !== 0 && (n.kind === 2 || n.kind === 3)) pins.set((n.kind === 2 ? "in:" : "out:") + n.ref, n); });
            const edges = [];
            for (const [from, to, values, flat] of lv.edges) {
              const a = nodes[from], b = nodes[to];
              let pts = [];
              for (let k = 0; k + 1 < flat.length; k += 2) pts.push([flat[k], flat[k + 1]]);
              if (pts.length === 0) pts = arc(lv.items[from], lv.items[to]);
              if (pts.length > 1 && dist(pts[0], [a.ox, a.oy]) > dist(pts[pts.length - 1], [a.ox, a.oy])) pts.reverse();
              const mapped = pts.map((p) => [fx(p[0]), fy(p[1])]);
              for (const v of (a.sub || b.sub) ? values : [values[0]]) {
                const m = mapped.map((p) => p.slice());
                const n = m.length;
                if (n >= 2) {
                  moveEnd(m, 0, 1, anchor(a, pts[0], v, "out:"));
                  moveEnd(m, n - 1, n - 2, anchor(b, pts[n - 1], v, "in:"));
                }
                edges.push({ pts: m, values: (a.sub || b.sub) ? [v] : values, from, to, routed: flat.length > 0 });
              }
            }
            const placed = { li, w: W, h: H, nodes, edges, pins };
            if (known) known.placed = placed; else cache.set(li, { placed });
            return placed;
          }
          // An edge Graphviz did not route (implied by a kept path, see LongEdges.swift): an arc on the
          // right of the items it joins, bulging further the more ranks it spans.
          function arc(a, b) {
            const p0 = [a[2] + a[4] / 2, a[3]], p3 = [b[2] + b[4] / 2, b[3]];
            const off = Math.min(160, 12 + 0.15 * Math.abs(a[3] - b[3]));
            return [p0, [p0[0] + off, p0[1]], [p3[0] + off, p3[1]], p3];
          }
          function dist(p, q) { return Math.hypot(p[0] - q[0], p[1] - q[1]); }
          // Where an edge end goes: a closed item's end moves with the item; an open module's end goes to
          // the pin of the value on its border; a port's end to the port.
          function anchor(n, original, v, side) {
            if (n.sub) {
              const pin = n.sub.pins.get(side + v);
              if (pin) return [n.cx + pin.x, n.cy + pin.y];
              return [n.x, side === "in:" ? n.y + n.h / 2 : n.y - n.h / 2];
            }
            return [original[0] + (n.x - n.ox), original[1] + (n.y - n.oy)];
          }
          function moveEnd(m, end, next, target) {
            const dx = target[0] - m[end][0], dy = target[1] - m[end][1];
            m[end] = target;
            m[next] = [m[next][0] + dx, m[next][1] + dy];
          }

          function pathData(pts) {
            if (pts.length === 4 || (pts.length - 1) % 3 === 0) {
              let d = "M" + pts[0][0].toFixed(1) + "," + pts[0][1].toFixed(1);
              for (let k = 1; k + 2 < pts.length; k += 3) {
                d += "C" + [pts[k], pts[k + 1], pts[k + 2]].map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ");
              }
              return d;
            }
            return "M" + pts.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join("L");
          }

          function itemKey(kind, ref) { return kind === 0 ? "o:" + ref : kind === 1 ? "l:" + ref : null; }
          // An op sits in the level of its nearest module with two or more ops; if that is not its own
          // module (a module with one op), the label names its module too.
          function labelFor(n, levelPath) {
            if (n.kind === 0) {
              const op = OPS[n.ref];
              return op.module === "" || op.module === levelPath ? [op.op] : [op.op, typeName(op.module, op.type)];
            }
            if (n.kind === 1) return L[n.ref].label;
            return [n.kind === 2 ? "input" : "output", VALUES[n.ref][1]];
          }
          function typeName(path, type) { const parts = path.split("."); return (type || "Module") + "[" + parts[parts.length - 1] + "]"; }

          function translate(x, y) { return "translate(" + x.toFixed(1) + "," + y.toFixed(1) + ")"; }
          // A closed item (op, module, input, output, pin), drawn around its centre so that moving it is one
          // transform; an open module, a frame with a title bar holding the child level's own group.
          function createItem(n, li) {
            if (n.sub) {
              const cl = el("g", { class: "cluster" });
              cl.dataset.key = "l:" + n.ref;
              const frame = el("rect", { class: "frame", x: 0, y: 0 }, cl);
              const t = el("text", { class: "head", x: 6, y: 13 }, cl);
              t.textContent = "▾ " + L[n.ref].label[0];
              // Over the title, so that a click anywhere on the title bar closes the module.
              const hit = el("rect", { class: "headhit", x: 0, y: 0, height: HEAD }, cl);
              hit.dataset.key = "l:" + n.ref;
              const inner = el("g", { transform: translate(PAD, HEAD) }, cl);
              return { el: cl, open: true, frame, hit, inner };
            }
            if ((n.kind === 2 || n.kind === 3) && li !== 0) {
              const port = el("circle", { class: "port", cx: 0, cy: 0, r: 2.5 });
              port.dataset.key = (n.kind === 2 ? "vi:" : "vo:") + n.ref;
              return { el: port, open: false };
            }
            const key = itemKey(n.kind, n.ref) || ("v:" + n.ref);
            const node = el("g", { class: n.kind === 0 ? "node op" : n.kind === 1 ? "node module" : "node io" });
            node.dataset.key = key;
            el("rect", { x: (-n.w / 2).toFixed(1), y: (-n.h / 2).toFixed(1), width: n.w.toFixed(1), height: n.h.toFixed(1) }, node);
            const lines = labelFor(n, L[li].path);
            lines.forEach((line, i) => {
              const t = el("text", { x: 0, y: ((i - (lines.length - 1) / 2) * 12 + 3.5).toFixed(1), "text-anchor": "middle" }, node);
              t.textContent = (n.kind === 1 && i === 0 ? "▸ " : "") + line;
              t.dataset.fit = (n.w - 6).toFixed(1);
            });
            return { el: node, open: false };
          }
          function moveItem(item, n) {
            if (item.open) {
              const x = n.x - n.w / 2, y = n.y - n.h / 2;
              item.el.setAttribute("transform", translate(x, y));
              item.frame.setAttribute("width", n.w.toFixed(1));
              item.frame.setAttribute("height", n.h.toFixed(1));
              item.hit.setAttribute("width", n.w.toFixed(1));
            } else {
              item.el.setAttribute("transform", translate(n.x, n.y));
            }
          }
          function drawLevel(li, fresh) {
            const c = cache.get(li);
            if (c.drawnFor === c.placed) return c;
            const placed = c.placed;
            if (!c.g) {
              c.g = document.createElementNS(NS, "g");
              c.edgeLayer = el("g", {}, c.g);
              c.items = [];
            }
            c.edgeLayer.textContent = "";
            c.edges = []; c.keys = new Map(); c.children = [];
            placed.edges.forEach((e, i) => {
              const p = el("path", { class: "edge", d: pathData(e.pts), "marker-end": "url(#arrow)" }, c.edgeLayer);
              p.dataset.key = "e:" + li + ":" + i;
              // Arcs (edges Graphviz did not route) carry no label: their tensors are in the tooltip.
              if (e.routed) {
                const n = e.pts.length, mid = e.pts[Math.floor(n / 2)];
                const t = el("text", { class: "edgelabel", x: (mid[0] + 4).toFixed(1), y: mid[1].toFixed(1) }, c.edgeLayer);
                t.textContent = e.values.length === 1 ? VALUES[e.values[0]][1] : e.values.length + " tensors";
              }
              c.edges.push({ el: p, values: e.values, level: li, target: placed.nodes[e.to] });
            });
            placed.nodes.forEach((n, i) => {
              let item = c.items[i];
              if (!item || item.open !== !!n.sub) {
                if (item) item.el.remove();
                item = c.items[i] = createItem(n, li);
                c.g.appendChild(item.el);
                fresh.push(item.el);
              }
              moveItem(item, n);
              if (n.sub) {
                const child = drawLevel(n.ref, fresh);
                if (child.g.parentNode !== item.inner) item.inner.appendChild(child.g);
                c.children.push([n.ref, n]);
              }
              if (item.el.dataset.key) c.keys.set(item.el.dataset.key, [item.el, n]);
            });
            c.drawnFor = placed;
            return c;
          }
          // What is on screen, by key: the element and its rectangle in the graph's coordinates.
          function collect(li, ox, oy) {
            const c = cache.get(li);
            for (const [k, [e, n]] of c.keys) {
              drawn.set(k, e);
              rects.set(k, [ox + n.x - n.w / 2, oy + n.y - n.h / 2, n.w, n.h]);
            }
            for (const e of c.edges) edgesDrawn.push(e);
            for (const [child, n] of c.children) collect(child, ox + n.cx, oy + n.cy);
          }

          // Text Graphviz measured in one font may be drawn wider in another: squeeze what overflows.
          const textWidths = new Map();
          function fitTexts(root) {
            const texts = Array.from(root.querySelectorAll("text[data-fit]"));   // not yet fitted
            // Measuring forces a layout per text; a label measures the same every time.
            const widths = texts.map((t) => {
              let w = textWidths.get(t.textContent);
              if (w === undefined) { w = t.getComputedTextLength(); textWidths.set(t.textContent, w); }
              return w;
            });
            texts.forEach((t, i) => {
              const room = parseFloat(t.dataset.fit);
              if (widths[i] > room) { t.setAttribute("textLength", room.toFixed(1)); t.setAttribute("lengthAdjust", "spacingAndGlyphs"); }
              t.removeAttribute("data-fit");
            });
          }

          let placedRoot = null;
          let rects = new Map();
          function render(anchorKey) {
            const started = performance.now();
            const before = anchorKey ? screenPos(anchorKey) : null;
            if (!viewport) {
              const defs = el("defs", {}, svg);
              const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" }, defs);
              el("path", { d: "M0,0L10,5L0,10z", fill: "#888" }, marker);
              viewport = el("g", { id: "viewport" }, svg);
            }
            drawn = new Map();
            rects = new Map();
            edgesDrawn = [];
            placedRoot = place(0);
            const fresh = [];
            const root = drawLevel(0, fresh);
            if (viewport.firstChild !== root.g) { viewport.textContent = ""; viewport.appendChild(root.g); }
            collect(0, 0, 0);
            for (const g of fresh) fitTexts(g);
            applyHighlight();
            if (before) {
              const after = screenPos(anchorKey);
              if (after) { view.x += before[0] - after[0]; view.y += before[1] - after[1]; }
            }
            applyView();
            document.body.dataset.renderMs = (performance.now() - started).toFixed(1);
            document.body.dataset.drawnNodes = String(drawn.size);
          }
          // Where an element's top left corner is on screen, from the placement (no layout is forced).
          function screenPos(key) {
            const r = rects.get(key);
            return r ? [view.x + r[0] * view.k, view.y + r[1] * view.k] : null;
          }
          function applyView() {
            viewport.setAttribute("transform", "translate(" + view.x.toFixed(2) + "," + view.y.toFixed(2) + ") scale(" + view.k.toFixed(4) + ")");
          }
          function fit(box) {
            const r = svg.getBoundingClientRect();
            box = box || { x: 0, y: 0, width: placedRoot.w, height: placedRoot.h };
            const k = Math.min(r.width / (box.width + 40), r.height / (box.height + 40), 2);
            view.k = k;
            view.x = (r.width - box.width * k) / 2 - box.x * k;
            view.y = (r.height - box.height * k) / 2 - box.y * k;
            applyView();
          }

          // Which drawn element stands for an op now: its first closed enclosing module, or the op itself.
          function visibleKey(o) {
            const chain = OPS[o].chain;
            for (let i = 1; i < chain.length; i++) if (!open.has(chain[i])) return "l:" + chain[i];
            return "o:" + o;
          }
          function applyHighlight() {
            for (const e of svg.querySelectorAll(".hl")) e.classList.remove("hl");
            const keys = new Set();
            for (const o of highlight.ops) keys.add(visibleKey(o));
            for (const k of keys) { const e = drawn.get(k); if (e) e.classList.add("hl"); }
            if (highlight.values.size) {
              for (const e of edgesDrawn) {
                if (!e.values.some((v) => highlight.values.has(v))) continue;
                const t = e.target;
                const reaches = t.kind === 3 || (t.kind === 0 && highlight.ops.has(t.ref))
                  || (t.kind === 1 && Array.from(highlight.ops).some((o) => OPS[o].chain.includes(t.ref)));
                if (reaches) e.el.classList.add("hl");
              }
            }
            for (const e of svg.querySelectorAll(".selected-node")) e.classList.remove("selected-node");
            if (selectedKey && drawn.get(selectedKey)) drawn.get(selectedKey).classList.add("selected-node");
          }
          function bringIntoView(keys) {
            let box = null;
            for (const k of keys) {
              const r = rects.get(k);
              if (!r) continue;
              const x0 = r[0], y0 = r[1], x1 = r[0] + r[2], y1 = r[1] + r[3];
              box = box ? { x0: Math.min(box.x0, x0), y0: Math.min(box.y0, y0), x1: Math.max(box.x1, x1), y1: Math.max(box.y1, y1) } : { x0, y0, x1, y1 };
            }
            if (box) fit({ x: box.x0, y: box.y0, width: box.x1 - box.x0, height: box.y1 - box.y0 });
          }
          function openChains(ops, only) {
            if (only) for (const l of Array.from(open)) setOpen(l, false);
            for (const o of ops) for (const l of OPS[o].chain) setOpen(l, true);
          }

          // Details: what the panel and the tooltip say about an element.
          function describe(key) {
            const [kind, id] = [key.split(":")[0], parseInt(key.split(":")[1], 10)];
            const rows = [];
            if (kind === "o") {
              const op = OPS[id];
              rows.push(["op", op.op], ["node", op.id], ["module", op.module === "" ? "(model's forward)" : op.module], ["module type", op.type || "—"]);
              if (op.source) rows.push(["called at", op.source]);
              op.in.forEach((v) => rows.push(["input", VALUES[v][0] + "  " + VALUES[v][1]]));
              op.out.forEach((v) => rows.push(["output", VALUES[v][0] + "  " + VALUES[v][1]]));
              op.reads.forEach((s) => rows.push(...storageRows(s, "reads")));
              op.writes.forEach((s) => rows.push(...storageRows(s, "writes")));
            } else if (kind === "l") {
              const lv = L[id];
              rows.push(["module", lv.path], ["type", lv.type || "—"], ["contains", lv.label[1] || ""]);
              if (lv.source) rows.push(["assigned at", lv.source]);
              rows.push(["", open.has(id) ? "click its title to close" : "click to open"]);
            } else if (kind === "e") {
              const edge = cache.get(id).placed.edges[parseInt(key.split(":")[2], 10)];
              rows.push(["edge", edge.values.length === 1 ? "1 tensor" : edge.values.length + " tensors"]);
              edge.values.slice(0, 40).forEach((v) => rows.push(["", VALUES[v][0] + "  " + VALUES[v][1]]));
              if (edge.values.length > 40) rows.push(["", "… and " + (edge.values.length - 40) + " more"]);
            } else {
              rows.push(["tensor", VALUES[id][0]], ["shape", VALUES[id][1]]);
            }
            return rows;
          }
          function storageRows(s, verb) {
            const st = STORAGES[s];
            const rows = [[verb + " " + st.kind, st.names.join(", ")], ["  shape", st.shape], ["  storage", st.id]];
            if (st.memory) rows.push(["  memory", st.memory]);
            return rows;
          }
          function showDetails(key) {
            details.textContent = "";
            const h = document.createElement("h2");
            h.textContent = "Details";
            details.appendChild(h);
            const dl = document.createElement("dl");
            for (const [k, v] of describe(key)) {
              const dt = document.createElement("dt"); dt.textContent = k;
              const dd = document.createElement("dd"); dd.textContent = v;
              dl.appendChild(dt); dl.appendChild(dd);
            }
            details.appendChild(dl);
          }
          function keyOf(target) {
            for (let e = target; e && e !== svg; e = e.parentNode) if (e.dataset && e.dataset.key) return e.dataset.key;
            return null;
          }

          // Findings.
          function showFindings() {
            const box = document.getElementById("findings");
            const h = document.createElement("h2");
            h.textContent = D.findings.length ? "Findings (" + D.findings.length + ")" : "No findings";
            box.appendChild(h);
            D.findings.forEach((f, i) => {
              const div = document.createElement("div");
              div.className = "finding " + f.severity;
              div.dataset.finding = String(i);
              const title = document.createElement("div");
              title.textContent = f.severity + " [" + f.rule + "] " + f.message;
              div.appendChild(title);
              const more = document.createElement("div");
              more.className = "more";
              const list = (items) => { const ul = document.createElement("ul"); items.forEach((x) => { const li = document.createElement("li"); li.textContent = x; ul.appendChild(li); }); return ul; };
              if (f.details.length) more.appendChild(list(f.details));
              if (f.notes.length) more.appendChild(list(f.notes.map((n) => "note: " + n)));
              if (f.help) more.appendChild(list(["help: " + f.help]));
              const only = document.createElement("button");
              only.textContent = "Open only what this involves";
              only.dataset.only = String(i);
              more.appendChild(only);
              div.appendChild(more);
              box.appendChild(div);
            });
          }
          function selectFinding(i, only) {
            const f = D.findings[i];
            for (const d of document.querySelectorAll(".finding.selected")) d.classList.remove("selected");
            document.querySelector('.finding[data-finding="' + i + '"]').classList.add("selected");
            highlight = { ops: new Set(f.ops), values: new Set(f.values) };
            if (only) openChains(f.ops, true);
            render();
            const keys = new Set(f.ops.map(visibleKey));
            bringIntoView(keys);
          }

          // Search by module path, op, node or tensor name.
          function runSearch(q) {
            results.textContent = "";
            q = q.trim().toLowerCase();
            if (!q) return;
            const hits = [];
            L.forEach((l, i) => { if (i > 0 && l.path.toLowerCase().includes(q)) hits.push(["module " + l.path, () => revealLevel(i)]); });
            OPS.forEach((o, i) => { if ((o.op + " " + o.id + " " + o.module).toLowerCase().includes(q)) hits.push(["op " + o.op + " in " + (o.module || "(model)") + " (" + o.id + ")", () => revealOps([i])]); });
            VALUES.forEach((v, i) => { if (v[0].toLowerCase().includes(q)) hits.push(["tensor " + v[0] + " " + v[1], () => revealOps(OPS.map((o, j) => (o.out.includes(i) ? j : -1)).filter((j) => j >= 0))]); });
            STORAGES.forEach((s, i) => { if (s.names.some((n) => n.toLowerCase().includes(q))) hits.push([s.kind + " " + s.names.join(", "), () => revealOps(OPS.map((o, j) => (o.reads.includes(i) || o.writes.includes(i) ? j : -1)).filter((j) => j >= 0))]); });
            const h = document.createElement("h2");
            h.textContent = hits.length + " match" + (hits.length === 1 ? "" : "es") + (hits.length > 100 ? " (first 100)" : "");
            results.appendChild(h);
            hits.slice(0, 100).forEach(([text, go]) => { const d = document.createElement("div"); d.textContent = text; d.addEventListener("click", go); results.appendChild(d); });
          }
          function revealLevel(i) {
            for (let l = L[i].parent; l !== null; l = L[l].parent) setOpen(l, true);
            highlight = { ops: new Set(), values: new Set() };
            selectedKey = "l:" + i;
            render();
            bringIntoView(["l:" + i]);
            showDetails("l:" + i);
          }
          function revealOps(ops) {
            if (!ops.length) return;
            openChains(ops, false);
            highlight = { ops: new Set(ops), values: new Set() };
            selectedKey = null;
            render();
            bringIntoView(new Set(ops.map(visibleKey)));
            showDetails("o:" + ops[0]);
          }

          function toggle(key) {
            const id = parseInt(key.slice(2), 10);
            if (open.has(id)) {
              // Closing a module closes everything inside it.
              for (let i = 0; i < L.length; i++) for (let l = i; l !== null; l = L[l].parent) if (l === id) setOpen(i, false);
            } else {
              setOpen(id, true);
            }
            render(key);
          }

          // Pointer: click opens and closes modules, selects ops; wheel zooms; drag pans.
          let drag = null;
          svg.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false }; });
          window.addEventListener("mousemove", (e) => {
            if (drag) {
              const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
              if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; svg.classList.add("dragging"); }
              if (drag.moved) { view.x = drag.vx + dx; view.y = drag.vy + dy; applyView(); }
            }
            const key = keyOf(e.target);
            if (key && e.target.ownerSVGElement === svg || (key && e.target.parentNode && e.target.parentNode.ownerSVGElement === svg)) {
              tip.textContent = describe(key).map(([k, v]) => (k ? k + ": " : "") + v).join("\n");
              tip.hidden = false;
              tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 430) + "px";
              tip.style.top = (e.clientY + 14) + "px";
            } else {
              tip.hidden = true;
            }
          });
          window.addEventListener("mouseup", () => { svg.classList.remove("dragging"); setTimeout(() => { drag = null; }, 0); });
          svg.addEventListener("click", (e) => {
            if (drag && drag.moved) return;
            const key = keyOf(e.target);
            if (!key || key.startsWith("e:")) { if (key) showDetails(key); return; }
            selectedKey = key;
            tip.hidden = true;   // what it said (open or closed) is out of date
            if (key.startsWith("l:")) toggle(key); else { applyHighlight(); }
            showDetails(key);
          });
          svg.addEventListener("wheel", (e) => {
            e.preventDefault();
            const r = svg.getBoundingClientRect();
            const f = Math.exp(-e.deltaY * 0.0015);
            const px = e.clientX - r.left, py = e.clientY - r.top;
            view.x = px - (px - view.x) * f; view.y = py - (py - view.y) * f; view.k *= f;
            applyView();
          }, { passive: false });
          document.getElementById("findings").addEventListener("click", (e) => {
            const only = e.target.dataset && e.target.dataset.only;
            if (only !== undefined) { selectFinding(parseInt(only, 10), true); return; }
            for (let n = e.target; n; n = n.parentNode) if (n.dataset && n.dataset.finding !== undefined) { selectFinding(parseInt(n.dataset.finding, 10), false); return; }
          });
          search.addEventListener("keydown", (e) => { if (e.key === "Enter") runSearch(search.value); if (e.key === "Escape") search.blur(); });
          document.getElementById("fit").addEventListener("click", () => fit());
          document.getElementById("reset").addEventListener("click", () => { open = initialOpen(); cache.clear(); highlight = { ops: new Set(), values: new Set() }; render(); fit(); });
          document.getElementById("openall").addEventListener("click", () => { open = new Set(L.map((_, i) => i)); cache.clear(); render(); fit(); });
          window.addEventListener("keydown", (e) => {
            if (e.target === search) return;
            const zoom = (f) => { const r = svg.getBoundingClientRect(); const px = r.width / 2, py = r.height / 2; view.x = px - (px - view.x) * f; view.y = py - (py - view.y) * f; view.k *= f; applyView(); };
            if (e.key === "/") { e.preventDefault(); search.focus(); }
            else if (e.key === "f") fit();
            else if (e.key === "r") document.getElementById("reset").click();
            else if (e.key === "+" || e.key === "=") zoom(1.25);
            else if (e.key === "-") zoom(0.8);
            else if (e.key === "Escape") { highlight = { ops: new Set(), values: new Set() }; selectedKey = null; applyHighlight(); }
          });

          const h1 = document.getElementById("title");
          h1.classList.add(D.verdict === "independent" ? "good" : D.verdict === "not independent" ? "bad" : "neutral");
          showFindings();
          render();
          fit();
          document.body.dataset.ready = "1";
        })();
        """#
}
