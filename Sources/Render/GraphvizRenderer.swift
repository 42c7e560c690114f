import CGraphviz
import Foundation

/// The one place graphcheck talks to Graphviz's C library. DOT text goes in, rendered bytes come out;
/// every C handle is created and freed inside `render`, and Graphviz's own messages are captured into
/// `RenderError` instead of being printed.
public enum GraphvizRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case svg, png, pdf
        /// Graphviz's plain text: positions and sizes only, what the HTML view composes its layouts from.
        case plain
    }

    /// libgvc keeps global state (its error handler, plugin tables): one render at a time.
    private static let lock = NSLock()
    nonisolated(unsafe) private static var messages: [String] = []

    /// Lays out `dot` with the dot engine and renders it. With `forcePluginFallback` the plugin config
    /// file is not consulted, as on a machine where `dot -c` was never run.
    /// `order`: DOT names of blocks (clusters or nodes) to put left to right in this order (`BranchOrder`).
    public static func render(dot: String, format: Format, order: [String] = [], forcePluginFallback: Bool = false) throws(RenderError) -> [UInt8] {
        try render(dots: [dot], format: format, order: order, forcePluginFallback: forcePluginFallback)[0]
    }

    /// Lays out `dot`, then adds the edges `completing` writes (DOT edge statements with their own `pos`,
    /// from the layout's node positions in `plain` form) and renders the whole without moving anything:
    /// how edges that dot would spend minutes routing are drawn (see `ImpliedEdges`).
    public static func render(
        dot: String, format: Format, order: [String] = [], completing: @escaping (_ plain: [UInt8]) throws(RenderError) -> String,
        forcePluginFallback: Bool = false
    ) throws(RenderError) -> [UInt8] {
        try render(dots: [dot], format: format, order: order, completing: completing, forcePluginFallback: forcePluginFallback)[0]
    }

    /// Lays out and renders each graph in turn with one Graphviz context (creating a context reads the
    /// plugin configuration, which costs more than laying out a small graph).
    public static func render(
        dots: [String], format: Format, order: [String] = [], completing: ((_ plain: [UInt8]) throws(RenderError) -> String)? = nil,
        forcePluginFallback: Bool = false
    ) throws(RenderError) -> [[UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        messages = []
        let previousHandler = agseterrf { text in
            if let text { GraphvizRenderer.messages.append(String(cString: text)) }
            return 0
        }
        defer { agseterrf(previousHandler) }

        if !forcePluginFallback {
            guard let context = gvContext() else { throw RenderError("Graphviz could not create a context") }
            defer { gvFreeContext(context) }
            if let all = try attemptAll(dots, format, order, completing, context) { return all }
        }
        // No usable plugin configuration: load the dot layout and the renderers from their libraries.
        messages = []
        let plugins = try PluginLibraries.load(for: format)
        guard let context = plugins.withSymbolList({ gvContextPlugins($0, 0) }) else {
            throw RenderError("Graphviz could not create a context from its plugin libraries")
        }
        defer { gvFreeContext(context) }
        guard let all = try attemptAll(dots, format, order, completing, context) else {
            throw RenderError("Graphviz's dot layout is not available" + details())
        }
        return all
    }

    /// Every graph rendered, or nil when the context has no dot layout or no renderer for the format.
    private static func attemptAll(
        _ dots: [String], _ format: Format, _ order: [String], _ completing: ((_ plain: [UInt8]) throws(RenderError) -> String)?,
        _ context: OpaquePointer
    ) throws(RenderError) -> [[UInt8]]? {
        var all: [[UInt8]] = []
        all.reserveCapacity(dots.count)
        for dot in dots {
            var text = dot
            if let completing {
                // First pass: the layout, as positions (plain) and as DOT with every position in it.
                guard case .rendered(let both) = try attempt(dot, ["plain", "dot"], "dot", context, order: order) else { return nil }
                let (plain, positioned) = (both[0], both[1])
                var laidOut = String(decoding: positioned, as: UTF8.self)
                guard let close = laidOut.lastIndex(of: "}") else { throw RenderError("Graphviz wrote no graph") }
                laidOut.insert(contentsOf: try completing(plain), at: close)
                text = laidOut
            }
            switch try attempt(text, [format.rawValue], completing == nil ? "dot" : "nop2", context, order: completing == nil ? order : []) {
            case .rendered(let bytes): all.append(bytes[0])
            case .layoutUnavailable: return nil
            }
        }
        return all
    }

    private enum Attempt {
        /// One rendering per format asked for, of the same layout.
        case rendered([[UInt8]])
        case layoutUnavailable
    }

    /// One layout (`engine`: dot, or nop2 for a graph whose positions are all given), rendered in each format;
    /// with `order`, those blocks put in that order first (`BranchOrder`).
    private static func attempt(_ dot: String, _ formats: [String], _ engine: String, _ context: OpaquePointer, order: [String] = []) throws(RenderError) -> Attempt {
        guard let graph = DeterministicReader.read(dot) else {
            throw RenderError("Graphviz could not read the generated DOT" + details())
        }
        defer { agclose(graph) }
        guard gvLayout(context, graph, engine) == 0 else {
            if messages.contains(where: { $0.contains("not recognized") }) { return .layoutUnavailable }
            throw RenderError("Graphviz layout failed" + details())
        }
        if order.count >= 2 && reorder(graph, order, context) == false {
            // No nop2 here (a Graphviz without the neato plugin): dot's own order, laid out again.
            guard gvLayout(context, graph, engine) == 0 else { throw RenderError("Graphviz layout failed" + details()) }
        }
        defer { gvFreeLayout(context, graph) }
        var outputs: [[UInt8]] = []
        for format in formats {
            var data: UnsafeMutablePointer<CChar>?
            var length: UInt32 = 0
            guard gvRenderData(context, graph, format, &data, &length) == 0, let data else {
                if messages.contains(where: { $0.contains("not recognized") }) { return .layoutUnavailable }
                throw RenderError("Graphviz could not render \(format)" + details())
            }
            outputs.append(Array(UnsafeRawBufferPointer(start: data, count: Int(length))))
            gvFreeRenderData(data)
        }
        return .rendered(outputs)
    }

    /// Moves the blocks of a laid-out graph into `order` and lays it out again as positioned (nop2). True
    /// when the graph has a layout afterwards (moved or not), false when it was freed and nop2 is missing.
    private static func reorder(_ graph: UnsafeMutablePointer<Agraph_t>, _ order: [String], _ context: OpaquePointer) -> Bool {
        // The layout written into the graph's attributes (pos, bb, lp), where it is read: what rendering DOT
        // does first, without writing the text.
        attach_attrs(graph)

        var layout = BranchOrder.Layout()
        var clusters: [String: UnsafeMutablePointer<Agraph_t>] = [:]
        func visit(_ parent: UnsafeMutablePointer<Agraph_t>) -> [String] {
            var names: [String] = []
            var sub = agfstsubg(parent)
            while let g = sub {
                let name = String(cString: agnameof(g))
                clusters[name] = g
                let inner = visit(g)
                names += [name] + inner
                if let bb = attribute(g, "bb").flatMap(rect) {
                    layout.clusters[name] = (bb, attribute(g, "lp"))
                    layout.nested[name] = inner
                    var members: [String] = []
                    var n = agfstnode(g)
                    while let node = n {
                        members.append(String(cString: agnameof(node)))
                        n = agnxtnode(g, node)
                    }
                    layout.members[name] = members
                }
                sub = agnxtsubg(g)
            }
            return names
        }
        _ = visit(graph)
        layout.bounds = attribute(graph, "bb").flatMap(rect)
        var nodes: [String: UnsafeMutablePointer<Agnode_t>] = [:]
        var edges: [UnsafeMutablePointer<Agedge_t>] = []
        var n = agfstnode(graph)
        while let node = n {
            let name = String(cString: agnameof(node))
            nodes[name] = node
            if let pos = attribute(node, "pos").flatMap(point), let w = attribute(node, "width").flatMap(Double.init),
                let h = attribute(node, "height").flatMap(Double.init)
            {
                layout.nodes[name] = BranchOrder.Rect(x0: pos.0 - w * 36, y0: pos.1 - h * 36, x1: pos.0 + w * 36, y1: pos.1 + h * 36)
            }
            var e = agfstout(graph, node)
            while let edge = e {
                var attributes: [String: String] = [:]
                for key in BranchOrder.positionAttributes + ["label"] { attributes[key] = attribute(edge, key).flatMap { $0.isEmpty ? nil : $0 } }
                layout.edges.append(BranchOrder.Layout.Edge(
                    tail: name, head: String(cString: agnameof(graphcheck_edge_head(edge))), attributes: attributes))
                edges.append(edge)
                e = agnxtout(graph, edge)
            }
            n = agnxtnode(graph, node)
        }
        let edits = BranchOrder.edits(layout, blocks: order)
        guard !edits.isEmpty else { return true }
        for edit in edits {
            let object: UnsafeMutableRawPointer?
            switch edit.target {
            case .graph: object = UnsafeMutableRawPointer(graph)
            case .node(let name): object = nodes[name].map { UnsafeMutableRawPointer($0) }
            case .cluster(let name): object = clusters[name].map { UnsafeMutableRawPointer($0) }
            case .edge(let index): object = UnsafeMutableRawPointer(edges[index])
            }
            guard let object else { continue }
            _ = edit.attribute.withCString { name in edit.value.withCString { value in "".withCString { empty in
                agsafeset(object, UnsafeMutablePointer(mutating: name), UnsafeMutablePointer(mutating: value), UnsafeMutablePointer(mutating: empty))
            } } }
        }
        gvFreeLayout(context, graph)
        return gvLayout(context, graph, "nop2") == 0
    }

    private static func attribute(_ object: UnsafeMutableRawPointer, _ name: String) -> String? {
        name.withCString { key in agget(object, UnsafeMutablePointer(mutating: key)).map { String(cString: $0) } }
    }

    private static func point(_ text: String) -> (Double, Double)? {
        let parts = text.split(separator: ",")
        guard parts.count >= 2, let x = Double(parts[0]), let y = Double(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "!"))) else { return nil }
        return (x, y)
    }

    private static func rect(_ text: String) -> BranchOrder.Rect? {
        let parts = text.split(separator: ",").compactMap { Double($0) }
        guard parts.count == 4 else { return nil }
        return BranchOrder.Rect(x0: parts[0], y0: parts[1], x1: parts[2], y1: parts[3])
    }

    private static func details() -> String {
        let text = messages.joined().split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return text.isEmpty ? "" : ": " + text.prefix(3).joined(separator: "; ")
    }

    /// The libraries behind the plugins graphcheck needs, opened directly from Graphviz's plugin folder.
    private struct PluginLibraries {
        var symbols: [(name: String, address: UnsafeMutableRawPointer)]

        /// The dot layout and core renderers are required; the cairo/pango plugin is required for PNG and
        /// PDF and loaded for SVG too when present, since it also measures text (the same sizes as with
        /// Graphviz's own configuration).
        static func load(for format: Format) throws(RenderError) -> PluginLibraries {
            var symbols: [(name: String, address: UnsafeMutableRawPointer)] = []
            // neato_layout holds nop2, which renders a laid-out graph with added edges as it is.
            for (plugin, required) in [("dot_layout", true), ("neato_layout", false), ("core", true), ("pango", format == .png || format == .pdf)] {
                let symbol = "gvplugin_\(plugin)_LTX_library"
                if let address = open("libgvplugin_\(plugin).so.6", symbol) {
                    symbols.append((symbol, address))
                } else if required {
                    throw RenderError("Graphviz plugin library libgvplugin_\(plugin) was not found (searched \(directories().joined(separator: ", ")))")
                }
            }
            return PluginLibraries(symbols: symbols)
        }

        /// Calls `body` with a NULL-terminated `lt_symlist_t` array that lives for the call.
        func withSymbolList<T>(_ body: (UnsafePointer<lt_symlist_t>) -> T) -> T {
            let names = symbols.map { strdup($0.name) }
            defer { names.forEach { free($0) } }
            var list = zip(names, symbols).map { lt_symlist_t(name: UnsafePointer($0), address: $1.address) }
            list.append(lt_symlist_t(name: nil, address: nil))
            return list.withUnsafeBufferPointer { body($0.baseAddress!) }
        }

        /// Plugin libraries stay loaded for the life of the process, like Graphviz's own demand loading.
        private static func open(_ file: String, _ symbol: String) -> UnsafeMutableRawPointer? {
            for directory in directories() {
                guard let handle = dlopen(directory + "/" + file, RTLD_NOW | RTLD_LOCAL) else { continue }
                if let address = dlsym(handle, symbol) { return address }
            }
            return nil
        }

        /// `graphviz/` beside the libgvc this process loaded, then the usual places.
        private static func directories() -> [String] {
            var result: [String] = []
            let function: @convention(c) () -> OpaquePointer? = gvContext
            if let file = graphcheck_library_file(unsafeBitCast(function, to: UnsafeRawPointer.self)) {
                result.append(URL(fileURLWithPath: String(cString: file)).deletingLastPathComponent().appendingPathComponent("graphviz").path)
            }
            for candidate in ["/usr/lib/x86_64-linux-gnu/graphviz", "/usr/lib/aarch64-linux-gnu/graphviz", "/usr/lib/graphviz", "/usr/local/lib/graphviz"]
            where !result.contains(candidate) {
                result.append(candidate)
            }
            return result
        }
    }
}

/// Reads DOT into a cgraph graph whose object ids follow creation order.
///
/// cgraph's default id discipline uses the address of each interned name as the object's id, and
/// subgraphs are kept — and laid out — in id order. Heap addresses differ from run to run (and from one
/// render to the next in the same process), so with the default discipline the same DOT can give a
/// different drawing. This discipline numbers names in the order they are first seen instead.
private enum DeterministicReader {
    /// Names ↔ ids for one root graph: even ids for named objects, odd for anonymous ones.
    final class IDTable {
        var ids: [String: IDTYPE] = [:]
        var names: [IDTYPE: UnsafeMutablePointer<CChar>] = [:]
        var nextNamed: IDTYPE = 2
        var nextAnonymous: IDTYPE = 1
        deinit { for name in names.values { free(name) } }
    }

    /// The text being read and how far the parser has got.
    final class Channel {
        let bytes: [UInt8]
        var position = 0
        init(_ text: String) { bytes = Array(text.utf8) }
    }

    nonisolated(unsafe) static let idDiscipline: UnsafeMutablePointer<Agiddisc_t> = {
        let pointer = UnsafeMutablePointer<Agiddisc_t>.allocate(capacity: 1)
        pointer.initialize(to: Agiddisc_t(
            open: { _, _ in UnsafeMutableRawPointer(Unmanaged.passRetained(IDTable()).toOpaque()) },
            map: { state, _, name, id, create in
                let table = Unmanaged<IDTable>.fromOpaque(state!).takeUnretainedValue()
                guard let name else {
                    id!.pointee = table.nextAnonymous
                    table.nextAnonymous += 2
                    return 1
                }
                let key = String(cString: name)
                if let known = table.ids[key] {
                    id!.pointee = known
                    return 1
                }
                guard create != 0 else { return 0 }
                let new = table.nextNamed
                table.nextNamed += 2
                table.ids[key] = new
                table.names[new] = strdup(name)
                id!.pointee = new
                return 1
            },
            alloc: { _, _, _ in 0 },
            free: { _, _, _ in },
            print: { state, _, id in
                let table = Unmanaged<IDTable>.fromOpaque(state!).takeUnretainedValue()
                return table.names[id]
            },
            close: { state in Unmanaged<IDTable>.fromOpaque(state!).release() },
            idregister: { _, _, _ in }))
        return pointer
    }()

    /// Hands the parser one line at a time, as cgraph's own memory reader does.
    nonisolated(unsafe) static let ioDiscipline: UnsafeMutablePointer<Agiodisc_t> = {
        let pointer = UnsafeMutablePointer<Agiodisc_t>.allocate(capacity: 1)
        pointer.initialize(to: Agiodisc_t(
            afread: { chan, buffer, size in
                let channel = Unmanaged<Channel>.fromOpaque(chan!).takeUnretainedValue()
                var count: Int32 = 0
                while count < size, channel.position < channel.bytes.count {
                    let byte = channel.bytes[channel.position]
                    buffer![Int(count)] = CChar(bitPattern: byte)
                    channel.position += 1
                    count += 1
                    if byte == UInt8(ascii: "\n") { break }
                }
                return count
            },
            putstr: { _, _ in 0 },
            flush: { _ in 0 }))
        return pointer
    }()

    static func read(_ dot: String) -> UnsafeMutablePointer<Agraph_t>? {
        let channel = Unmanaged.passRetained(Channel(dot))
        defer { channel.release() }
        // A nil allocator selects cgraph's default one.
        var discipline = Agdisc_t(mem: nil, id: idDiscipline, io: ioDiscipline)
        return agread(channel.toOpaque(), &discipline)
    }
}

/// Rendering failed; the message says what Graphviz reported.
public struct RenderError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
