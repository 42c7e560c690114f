import Foundation
import FormatSupport
import GraphCheck
import GraphIR
import Testing
import TestSupport
import TraceFormat

@Suite struct TraceFormatTests {
    func read(_ text: String) throws -> Graph {
        let bytes = Array(text.utf8)
        return try TraceReader.read(bytes)
    }

    func readError(_ text: String) -> InputError? {
        do { _ = try read(text); return nil } catch let error as InputError { return error } catch { return nil }
    }

    @Test func writeReadWriteIsTheIdentity() throws {
        let graph = try Repository.load("samples/densenet121_multihead.json").graph
        let text = TraceWriter.write(graph, producer: "test")
        let again = try read(text)
        #expect(TraceWriter.write(again, producer: "test") == text)
        #expect(again.nodes.count == graph.nodes.count)
        #expect(again.storages.map(\.names) == graph.storages.map(\.names))
        #expect(again.storages.map(\.digest) == graph.storages.map(\.digest))
        #expect(graph.storages.contains { $0.digest != nil }, "the seed's conv weights have values to compare")
        // Module paths, classes and identities survive; the spec lines that declare modules point into the
        // spec, not the trace, and are not written.
        #expect(again.modules.map { [$0.path, $0.type, $0.instance] } == graph.modules.map { [$0.path, $0.type, $0.instance] })
        #expect(again.verify().isEmpty)
    }

    static let minimal = """
        {"format": "graphcheck.trace", "version": 1, "inputs": ["x"], "outputs": ["y"],
         "storages": [{"id": "w", "kind": "parameter", "names": ["fc.weight"], "shape": [2, 2], "dtype": "float32"}],
         "values": [{"id": "x", "shape": [1, 2]}, {"id": "y", "shape": [1, 2]}],
         "nodes": [{"id": "n0", "op": "linear", "module": "fc", "inputs": ["x", "w"], "outputs": ["y"], "attrs": {"k": [1, 2], "p": 0.5, "t": true, "s": "a"}}]}
        """

    /// What autograd saved: read, kept on the node and written back; a saved value must be the node's own.
    @Test func savedTensorsRoundTrip() throws {
        let text = Self.minimal
            .replacingOccurrences(of: #""version": 1,"#, with: #""version": 1, "saved_tensors": true,"#)
            .replacingOccurrences(of: #""outputs": ["y"], "attrs""#, with: #""outputs": ["y"], "saves": ["x"], "attrs""#)
        let graph = try read(text)
        #expect(graph.recordsSavedTensors && graph.nodes[0].saves == [ValueID(0)])
        let again = try read(TraceWriter.write(graph, producer: "test"))
        #expect(again.recordsSavedTensors && again.nodes[0].saves == [ValueID(0)])
        #expect(try !read(Self.minimal).recordsSavedTensors)
        let twoNodes = text.replacingOccurrences(of: #""values": [{"id": "x", "shape": [1, 2]}, "#, with: #""values": [{"id": "x", "shape": [1, 2]}, {"id": "z", "shape": [1, 2]}, "#)
            .replacingOccurrences(of: #""saves": ["x"]"#, with: #""saves": ["x", "z"]"#)
        let error = readError(twoNodes)
        #expect(error?.location.hasPrefix("$.nodes[0] (line 4") == true, "location: \(String(describing: error?.location))")
        #expect(error?.message.contains("neither an input nor an output") == true)
    }

    /// A parameter or buffer the op saved and the forward overwrote later (the exporter lists only those) is
    /// read among `saves` beside the values, kept apart on the node, and written back; so is
    /// `overwrites_saved`.
    @Test func savedStoragesRoundTrip() throws {
        let text = Self.minimal
            .replacingOccurrences(of: #""version": 1,"#, with: #""version": 1, "saved_tensors": true,"#)
            .replacingOccurrences(of: #""outputs": ["y"], "attrs""#, with: #""outputs": ["y"], "saves": ["w", "x"], "attrs""#)
        let graph = try read(text)
        #expect(graph.nodes[0].saves == [ValueID(0)] && graph.nodes[0].savedStorages == [StorageID(0)])
        let written = TraceWriter.write(graph, producer: "test")
        #expect(written.contains(#""saves": ["x","w"]"#))
        #expect(try read(written).nodes[0].savedStorages == [StorageID(0)])
        let overwriting = text.replacingOccurrences(of: #""saves": ["w", "x"]"#, with: #""overwrites_saved": ["x"]"#)
        let again = try read(TraceWriter.write(try read(overwriting), producer: "test"))
        #expect(again.nodes[0].overwritesSaved == [ValueID(0)])
    }

    /// A module's `source` (where the user's code assigned it) is read and written back.
    @Test func moduleSourcesRoundTrip() throws {
        let text = Self.minimal.replacingOccurrences(
            of: #""inputs": ["x"], "outputs": ["y"],"#,
            with: #""inputs": ["x"], "outputs": ["y"], "modules": [{"path": "fc", "type": "Linear", "source": "model.py:7"}],"#)
        let graph = try read(text)
        #expect(graph.modules.map(\.source) == ["model.py:7"])
        #expect(try read(TraceWriter.write(graph, producer: "test")).modules.map(\.source) == ["model.py:7"])
    }

    /// Modules held outside nn.Module's registry (`"registered": false`) and made by the forward
    /// (`"made_in_forward": true`, which implies unregistered) are read and written back.
    @Test func unregisteredAndMadeInForwardRoundTrip() throws {
        let text = Self.minimal.replacingOccurrences(
            of: #""inputs": ["x"], "outputs": ["y"],"#,
            with: #""inputs": ["x"], "outputs": ["y"], "modules": [{"path": "heads.0", "type": "Linear", "registered": false}, "#
                + #"{"path": "head2", "type": "Linear", "made_in_forward": true}],"#)
        let graph = try read(text)
        let flags = graph.modules.map { [$0.registered, $0.madeInForward] }
        #expect(flags == [[false, false], [false, true]])
        #expect(try read(TraceWriter.write(graph, producer: "test")).modules.map { [$0.registered, $0.madeInForward] } == flags)
    }

    /// A frozen parameter (`"requires_grad": false`) is read as such and written back; absent means trainable.
    @Test func frozenParametersRoundTrip() throws {
        #expect(try read(Self.minimal).storages[0].trainable)
        let text = Self.minimal.replacingOccurrences(of: #""dtype": "float32"}]"#, with: #""dtype": "float32", "requires_grad": false}]"#)
        let graph = try read(text)
        #expect(!graph.storages[0].trainable)
        #expect(try !read(TraceWriter.write(graph, producer: "test")).storages[0].trainable)
    }

    /// A tie the model declares (`"declared": true`) is read and written back; absent means none.
    @Test func declaredTiesRoundTrip() throws {
        #expect(try !read(Self.minimal).storages[0].declared)
        let text = Self.minimal.replacingOccurrences(of: #""dtype": "float32"}]"#, with: #""dtype": "float32", "declared": true}]"#)
        let graph = try read(text)
        #expect(graph.storages[0].declared)
        #expect(try read(TraceWriter.write(graph, producer: "test")).storages[0].declared)
    }

    @Test func minimalTraceReads() throws {
        let graph = try read(Self.minimal)
        #expect(graph.mode == .train)
        #expect(graph.nodes[0].storageInputs == [StorageID(0)])
        #expect(graph.nodes[0].attributes.map(\.name) == ["k", "p", "t", "s"])
    }

    @Test(arguments: [
        (#""version": 1"#, #""version": 2"#, "$.version", "unsupported trace version 2"),
        (#""kind": "parameter""#, #""kind": "weight""#, "$.storages[0].kind", "storage kind must be"),
        (#""names": ["fc.weight"]"#, #""names": []"#, "$.storages[0].names", "at least one name"),
        (#"{"id": "y", "shape": [1, 2]}"#, #"{"id": "w", "shape": [1, 2]}"#, "$.values[1].id", #"duplicate id "w""#),
        (#""outputs": ["y"], "attrs""#, #""outputs": ["w"], "attrs""#, "$.nodes[0].outputs[0]", #""w" is a storage, expected a value"#),
        (#"{"id": "x", "shape": [1, 2]}"#, #"{"id": "x", "shape": [1, -2]}"#, "$.values[0].shape[1]", "must not be negative"),
        (#""op": "linear""#, #""op": """#, "$.nodes[0].op", "op must not be empty"),
        (#""module": "fc""#, #""module": "fc", "colour": "red""#, "$.nodes[0].colour", #"unknown key "colour""#),
        (#""attrs": {"k""#, #""attrs": {"z": {}, "k""#, "$.nodes[0].attrs.z", "an attribute must be"),
        (#""inputs": ["x"], "outputs": ["y"],"#, #""inputs": ["x"], "outputs": ["q"],"#, "$.outputs[0]", #"unknown value id "q""#),
        (#""op": "linear", "#, "", "$.nodes[0] (line 4, column 12)", #"missing required key "op""#),
        (#""module": "fc""#, #""module": "fc", "module": "g""#, "$.nodes[0].module", #"duplicate key "module""#),
        (#""version": 1,"#, #""version": 1, "version": 1,"#, "$.version", #"duplicate key "version""#),
        (#""inputs": ["x", "w"]"#, #""inputs": ["x", "n0"]"#, "$.nodes[0].inputs[1]", #"unknown value or storage id "n0""#),
        (#""inputs": ["x", "w"], "outputs": ["y"], "attrs""#, #""inputs": ["x"], "outputs": ["y"], "saves": ["w"], "attrs""#, "$.nodes[0]",
         "saves names a storage that is not an input of the node"),
        (#""dtype": "float32"}]"#, #""dtype": "float32", "requires_grad": "no"}]"#, "$.storages[0].requires_grad", "expected true or false"),
    ])
    func badTracesAreLocated(from: String, to: String, location: String, message: String) {
        precondition(Self.minimal.contains(from), "bad test: \(from)")
        let error = readError(Self.minimal.replacingOccurrences(of: from, with: to))
        #expect(error?.location.hasPrefix(location) == true, "location: \(String(describing: error?.location))")
        #expect(error?.message.contains(message) == true, "message: \(String(describing: error?.message))")
    }

    /// Keys may come in any order: sections that refer to ids are reread once the ids are known, and
    /// their errors still name their own place.
    @Test func sectionsMayComeInAnyOrder() throws {
        let reordered = """
            {"nodes": [{"outputs": ["y"], "inputs": ["x", "w"], "module": "fc", "op": "linear", "id": "n0", "attrs": null}],
             "outputs": ["y"], "values": [{"id": "x", "shape": [1, 2]}, {"id": "y", "shape": [1, 2]}], "inputs": ["x"],
             "storages": [{"id": "w", "kind": "parameter", "names": ["fc.weight"], "shape": [2, 2], "dtype": "float32"}],
             "version": 1, "format": "graphcheck.trace"}
            """
        let graph = try read(reordered)
        let expected = try read(Self.minimal)
        #expect(graph.nodes.map(\.id) == ["n0"])
        #expect(graph.nodes[0].inputs == expected.nodes[0].inputs)
        #expect(graph.inputs == expected.inputs && graph.outputs == expected.outputs)

        let error = readError(reordered.replacingOccurrences(of: #""inputs": ["x", "w"]"#, with: #""inputs": ["x", "v"]"#))
        #expect(error?.location == "$.nodes[0].inputs[1] (line 1, column 47)")
        #expect(error?.message == #"unknown value or storage id "v""#)
    }

    /// Large `nodes` sections are read on two threads; the result and the errors must be exactly those of
    /// reading in order — also when the guessed split point lies inside a string.
    @Test func readingNodesSplitInTwoEqualsReadingInOrder() throws {
        let graph = try Repository.load("samples/resnet18_heads.json").graph
        let text = TraceWriter.write(graph, producer: "test")
        let inOrder = try TraceReader.read(Array(text.utf8), parallelAbove: .max)
        let split = try TraceReader.read(Array(text.utf8), parallelAbove: 0)
        #expect(TraceWriter.write(split, producer: "test") == text)
        #expect(TraceWriter.write(inOrder, producer: "test") == text)

        // An error in the second half is reported where reading in order reports it.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let late = lines.lastIndex { $0.contains("\"op\": \"linear\"") }!
        var broken = lines
        broken[late] = broken[late].replacingOccurrences(of: "\"op\": \"linear\"", with: "\"op\": 7")
        let bytes = Array(broken.joined(separator: "\n").utf8)
        let errors = [Int.max, 0].map { threshold in
            Result { () throws(InputError) in try TraceReader.read(bytes, parallelAbove: threshold) }
        }
        guard case .failure(let expected) = errors[0], case .failure(let got) = errors[1] else {
            Issue.record("both reads must fail")
            return
        }
        #expect(got == expected)
        #expect(expected.message == "expected a string, found a number")

        // A string that looks like element boundaries (`}, {`) around the middle must not fool the split.
        let fake = String(repeating: "}, {", count: 4000)
        let tricky = Self.minimal
            .replacingOccurrences(of: #""inputs": ["x"], "outputs": ["y"],"#, with: #""inputs": ["x"], "outputs": ["z"],"#)
            .replacingOccurrences(of: #"{"id": "y", "shape": [1, 2]}"#, with: #"{"id": "y", "shape": [1, 2]}, {"id": "z"}"#)
            .replacingOccurrences(of: "}}]}", with: """
                }}, {"id": "n1", "op": "relu", "module": "act", "inputs": ["y"], "outputs": ["z"], "source": "\(fake)"}]}
                """)
        let trickyInOrder = try TraceReader.read(Array(tricky.utf8), parallelAbove: .max)
        let trickySplit = try TraceReader.read(Array(tricky.utf8), parallelAbove: 0)
        #expect(trickyInOrder.nodes.map(\.id) == ["n0", "n1"])
        #expect(TraceWriter.write(trickySplit, producer: "test") == TraceWriter.write(trickyInOrder, producer: "test"))
    }

    /// docs/trace.schema.json and the reader must agree on every object's keys.
    @Test func schemaListsTheKeysTheReaderAccepts() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Repository.path("docs/trace.schema.json"))))
        let schema = JSONCursor(root: try JSONParser.parse(bytes), source: JSONSource(bytes: bytes))
        func keys(_ object: JSONCursor) throws -> Set<String> { Set(try object.required("properties").members().map(\.key)) }
        let defs = try schema.required("$defs")
        #expect(try keys(schema) == TraceReader.topLevelKeys)
        #expect(try keys(defs.required("module")) == TraceReader.moduleKeys)
        #expect(try keys(defs.required("storage")) == TraceReader.storageKeys)
        #expect(try keys(defs.required("value")) == TraceReader.valueKeys)
        #expect(try keys(defs.required("node")) == TraceReader.nodeKeys)
        #expect(try schema.required("properties").required("format").required("const").string() == TraceWriter.format)
    }
}
