import FormatSupport

/// Reads TFRecord framing, the container of TensorBoard event files: each record is
/// `uint64 length | uint32 masked CRC32C(length) | data | uint32 masked CRC32C(data)`, little-endian.
/// Both checksums are verified, so a truncated or corrupted file is an error at a byte offset rather than
/// a garbage graph.
struct TFRecordReader {
    /// Records larger than this are not believed (a corrupted length would otherwise allocate gigabytes).
    static let maxRecordLength = 1 << 30

    private let bytes: [UInt8]
    private(set) var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// The next record's data range, or nil at the end of the file.
    mutating func next() throws(InputError) -> Range<Int>? {
        guard offset < bytes.count else { return nil }
        let start = offset
        guard bytes.count - offset >= 12 else {
            throw InputError(location: "byte \(start)", message: "truncated record header (\(bytes.count - offset) of 12 bytes)")
        }
        let length = TFRecordReader.readUInt64(bytes, at: offset)
        guard TFRecordReader.headerIsIntact(bytes, at: offset) else {
            throw InputError(location: "byte \(start)", message: "record length checksum mismatch (corrupted file)")
        }
        guard length <= UInt64(TFRecordReader.maxRecordLength) else {
            throw InputError(location: "byte \(start)", message: "record length \(length) is implausibly large")
        }
        let dataStart = offset + 12
        let dataEnd = dataStart + Int(length)
        guard dataEnd + 4 <= bytes.count else {
            throw InputError(location: "byte \(start)", message: "truncated record: \(length) bytes of data declared, \(max(0, bytes.count - dataStart)) present")
        }
        guard CRC32C.masked(bytes[dataStart..<dataEnd]) == TFRecordReader.readUInt32(bytes, at: dataEnd) else {
            throw InputError(location: "byte \(dataStart)", message: "record data checksum mismatch (corrupted file)")
        }
        offset = dataEnd + 4
        return dataStart..<dataEnd
    }

    /// Whether the 12 bytes at `offset` are a record header whose length matches its checksum.
    static func headerIsIntact(_ bytes: [UInt8], at offset: Int) -> Bool {
        bytes.count - offset >= 12 && CRC32C.masked(bytes[offset..<offset + 8]) == readUInt32(bytes, at: offset + 8)
    }

    private static func readUInt64(_ bytes: [UInt8], at i: Int) -> UInt64 {
        var value: UInt64 = 0
        for k in 0..<8 { value |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
        return value
    }

    private static func readUInt32(_ bytes: [UInt8], at i: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 { value |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
        return value
    }
}

/// CRC-32C (Castagnoli), as TFRecord uses it, with TFRecord's masking.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func masked<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
