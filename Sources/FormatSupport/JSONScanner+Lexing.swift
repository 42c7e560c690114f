/// The byte-level half of `JSONScanner`: whitespace, literals, strings (escapes, UTF-8) and numbers.
extension JSONScanner {
    /// JSON's four whitespace bytes: space, line feed, carriage return, tab.
    public static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    mutating func skipWhitespace() {
        while pos < bytes.count, Self.isWhitespace(bytes[pos]) { pos += 1 }
    }

    func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\u{\(String(byte, radix: 16))}"
    }

    mutating func expectLiteral(_ literal: StaticString) throws(InputError) {
        let count = literal.utf8CodeUnitCount
        let matches = pos + count <= bytes.count && literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[pos + $0] == expected[$0] }
        }
        guard matches else { throw syntaxError("invalid literal") }
        pos += count
        skipWhitespace()
    }

    /// A string starting at the opening quote under `pos`.
    mutating func scanString() throws(InputError) -> String {
        pos += 1
        let start = pos
        // Fast path: no escapes, and ASCII (ids, names, keys) needs no UTF-8 validation.
        var high: UInt8 = 0
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let s = high < 0x80 ? String(decoding: bytes[start..<pos], as: UTF8.self) : try decodeUTF8(bytes[start..<pos], at: start)
                pos += 1
                return s
            }
            high |= b
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw syntaxError("control character in a string") }
            pos += 1
        }
        var scalars = Array(bytes[start..<pos])
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return try decodeUTF8(scalars, at: start)
            }
            if b < 0x20 { throw syntaxError("control character in a string") }
            if b != UInt8(ascii: "\\") {
                scalars.append(b)
                pos += 1
                continue
            }
            pos += 1
            guard pos < bytes.count else { break }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): scalars.append(0x22)
            case UInt8(ascii: "\\"): scalars.append(0x5C)
            case UInt8(ascii: "/"): scalars.append(0x2F)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "u"):
                var code = try scanHex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw syntaxError("unpaired surrogate in \\u escape")
                    }
                    pos += 2
                    let low = try scanHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw syntaxError("unpaired surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw syntaxError("unpaired surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(code) else { throw syntaxError("invalid \\u escape") }
                scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw syntaxError("invalid escape '\\\(printable(e))'", at: pos - 2)
            }
        }
        throw syntaxError("unterminated string", at: start - 1)
    }

    mutating func scanHex4() throws(InputError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw syntaxError("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw syntaxError("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            pos += 1
        }
        return value
    }

    func decodeUTF8<C: Collection>(_ chunk: C, at offset: Int) throws(InputError) -> String where C.Element == UInt8 {
        guard let s = String(validating: chunk, as: UTF8.self) else { throw syntaxError("invalid UTF-8 in a string", at: offset) }
        return s
    }

    /// A number under `pos`. Integers are accumulated directly (the common case in our formats); anything
    /// else, or an integer out of range, goes through `Double`.
    mutating func scanNumber() throws(InputError) -> Number {
        let start = pos
        var isInteger = true
        let negative = bytes[pos] == UInt8(ascii: "-")
        if negative { pos += 1 }
        guard pos < bytes.count, isDigit(bytes[pos]) else { throw syntaxError("invalid number", at: start) }
        var magnitude = 0
        var overflow = false
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, isDigit(bytes[pos]) { throw syntaxError("leading zero in a number", at: start) }
        } else {
            while pos < bytes.count, isDigit(bytes[pos]) {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(bytes[pos] - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                magnitude = sum
                pos += 1
            }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw syntaxError("invalid number", at: start) }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw syntaxError("invalid number", at: start) }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if isInteger && !overflow { return .int(negative ? -magnitude : magnitude) }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw syntaxError("number out of range", at: start) }
        return .double(value)
    }

    func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
