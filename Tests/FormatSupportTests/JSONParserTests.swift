import FormatSupport
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONNode { try JSONParser.parse(Array(text.utf8)) }

    func failure(_ text: String) -> InputError? {
        do { _ = try JSONParser.parse(Array(text.utf8)); return nil } catch { return error }
    }

    @Test func parsesEveryKindOfValueKeepingKeyOrder() throws {
        let root = try parse(#"{"z": [1, -2.5e3, true, false, null], "a": "x\u00e9\n\ud83d\ude00", "m": {}}"#)
        guard case .object(let members) = root.value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["z", "a", "m"])
        guard case .array(let items) = members[0].value.value else { Issue.record("not an array"); return }
        guard case .int(1) = items[0].value, case .double(-2500) = items[1].value, case .bool(true) = items[2].value,
            case .null = items[4].value
        else { Issue.record("wrong scalars \(items)"); return }
        guard case .string(let s) = members[1].value.value else { Issue.record("not a string"); return }
        #expect(s == "xé\n😀")
    }

    @Test(arguments: [
        ("{\"a\": 1,\n  \"b\": }", "line 2, column 8", "unexpected character '}'"),
        ("{\"a\": 1, \"a\": 2}", "line 1, column 10", "duplicate key \"a\""),
        ("[1, 2", "line 1, column 6", "unexpected end of input inside an array"),
        ("{\"a\": \"unterminated}", "line 1, column 7", "unterminated string"),
        ("[01]", "line 1, column 2", "leading zero"),
        ("[1] x", "line 1, column 5", "unexpected content after the JSON document"),
        ("\"\\q\"", "line 1, column 2", "invalid escape"),
        ("[1e999]", "line 1, column 2", "number out of range"),
        ("\"\\ud800\"", "line 1, column 8", "unpaired surrogate"),
    ])
    func malformedInputIsLocated(text: String, location: String, message: String) {
        let error = failure(text)
        #expect(error?.location == location)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(failure(deep)?.message.contains("nesting deeper than") == true)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(failure(fine) == nil)
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: InputError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }
}

@Suite struct JSONCursorTests {
    func cursor(_ text: String) throws -> JSONCursor {
        let bytes = Array(text.utf8)
        return JSONCursor(root: try JSONParser.parse(bytes), source: JSONSource(bytes: bytes))
    }

    @Test func errorsNameThePathAndLine() throws {
        let root = try cursor("{\n  \"model\": {\"layers\": [1, \"two\"]}\n}")
        let second = try root.required("model").required("layers").elements()[1]
        let error = #expect(throws: InputError.self) { try second.int() }
        #expect(error?.location == "$.model.layers[1] (line 2, column 27)")
        #expect(error?.message == "expected an integer, found a string")
    }

    @Test func oddKeysAreQuotedInPaths() throws {
        let root = try cursor(#"{"a.b": {"x": null}}"#)
        let error = #expect(throws: InputError.self) { try root.required("a.b").required("x") }
        #expect(error?.location.hasPrefix(#"$["a.b"]"#) == true)
    }

    @Test func unknownKeysAreRejectedWithTheAlternatives() throws {
        let root = try cursor(#"{"kernel_sise": 3}"#)
        let error = #expect(throws: InputError.self) { try root.checkKeys(["kernel_size", "stride"]) }
        #expect(error?.message == #"unknown key "kernel_sise" (expected one of "kernel_size", "stride")"#)
    }
}

@Suite struct JSONWriterTests {
    @Test func quotingEscapesControlAndMarkupCharacters() {
        #expect(JSONWriter.quoted("a\"b\\c\n\u{01}<x>&") == #""a\"b\\c\n\u0001\u003cx\u003e\u0026""#)
    }

    @Test func quotedTextParsesBackToTheSameString() throws {
        let original = "tab\there \"quoted\" <script> \u{7F} é 😀"
        let root = try JSONParser.parse(Array(JSONWriter.quoted(original).utf8))
        guard case .string(let s) = root.value else { Issue.record("not a string"); return }
        #expect(s == original)
    }
}
