import FormatSupport

/// PyTorch files that hold weights or compiled code, not a forward pass: `torch.save` checkpoints (zip and
/// legacy pickle), TorchScript archives, `torch.export` archives and safetensors files. Recognised so that
/// the answer is the command that exports a graph from the model, not a JSON parse error.
struct TorchFileFrontend: Frontend {
    let id = "torch-file"
    let name = "PyTorch file"
    let shows = "weights (and, for TorchScript and torch.export archives, compiled code)"
    let cannotShow = "the forward pass: which ops read which tensors; export a graph with graphcheck_torch instead"

    func recognizes(_ bytes: [UInt8]) -> Bool { Self.describe(bytes) != nil }

    func read(_ bytes: [UInt8]) throws(InputError) -> LoadedInput {
        throw InputError(message: Self.advice(for: Self.describe(bytes) ?? "a PyTorch file"))
    }

    /// What the file is, in words, or nil when it is none of these.
    static func describe(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return zipKind(ZipNames.list(bytes)) }
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) {
            return "a pickled PyTorch checkpoint (torch.save, legacy format)"
        }
        if isSafetensors(bytes) { return "a safetensors weights file" }
        return nil
    }

    private static func zipKind(_ names: [String]) -> String {
        if names.contains(where: { $0.hasSuffix("/constants.pkl") || $0.contains("/code/__torch__") }) {
            return "a TorchScript archive (torch.jit.save)"
        }
        if names.contains(where: { $0.hasSuffix("serialized_exported_program.json") || $0.hasSuffix("archive_format") }) {
            return "a torch.export archive (.pt2)"
        }
        if names.contains(where: { $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }) {
            return "a PyTorch checkpoint (torch.save)"
        }
        return "a zip archive"
    }

    /// An 8-byte little-endian header length, then that many bytes of JSON header.
    private static func isSafetensors(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 10 else { return false }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        return length >= 2 && length <= UInt64(bytes.count - 8) && bytes[8] == UInt8(ascii: "{")
    }

    /// What to do with a PyTorch file that is not a graph.
    static func advice(for description: String) -> String {
        "is \(description): it holds weights or compiled code, not the forward pass graphcheck checks. Export the model "
            + "with `python -m graphcheck_torch yourpackage.models:build_model --input 2x3x224x224 -o model.json` "
            + "(build_model builds the nn.Module and may load this file into it) and run `graphcheck model.json`, "
            + "or log its graph with SummaryWriter.add_graph and pass the log directory"
    }
}

/// The file names in a zip archive's central directory, read without inflating anything.
enum ZipNames {
    static func list(_ bytes: [UInt8], limit: Int = 4096) -> [String] {
        // The end-of-central-directory record lies in the last 64 KiB + 22 bytes.
        let floor = max(0, bytes.count - 65_557)
        var end = bytes.count - 22
        while end >= floor, !(bytes[end] == 0x50 && bytes[end + 1] == 0x4B && bytes[end + 2] == 0x05 && bytes[end + 3] == 0x06) {
            end -= 1
        }
        guard end >= floor else { return [] }
        func u16(_ i: Int) -> Int { i + 2 <= bytes.count ? Int(bytes[i]) | Int(bytes[i + 1]) << 8 : 0 }
        func u32(_ i: Int) -> Int { i + 4 <= bytes.count ? u16(i) | u16(i + 2) << 16 : 0 }
        let count = u16(end + 10)
        var offset = u32(end + 16)
        var names: [String] = []
        for _ in 0..<min(count, limit) {
            guard offset + 46 <= bytes.count, u32(offset) == 0x0201_4B50 else { break }
            let nameLength = u16(offset + 28), extra = u16(offset + 30), comment = u16(offset + 32)
            guard offset + 46 + nameLength <= bytes.count else { break }
            names.append(String(decoding: bytes[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self))
            offset += 46 + nameLength + extra + comment
        }
        return names
    }
}
