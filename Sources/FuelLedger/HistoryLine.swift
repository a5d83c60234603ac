/// One line of a history export in NDJSON (`GET /v1/stations/{id}/history`, `fuelwarden export`,
/// an archive's station files), read back for verification:
/// `{"chain_seq":N,"source":"…","source_seq":N,"kind":"…","at":"…","hash":"hex","record":BODY}`.
/// The record is the stored canonical body byte for byte, so the chain hash can be recomputed from
/// it. The layout is fixed (the store writes it), so the fields are found by position rather than
/// by a JSON parser, which would not keep the body's bytes.
public struct HistoryLine: Sendable, Hashable {
    public var chainSeq: Int64
    public var source: String
    public var sourceSeq: Int64
    public var hash: Digest32
    public var body: [UInt8]

    /// What is wrong with a line, naming the field.
    public struct Malformed: Error, Hashable, Sendable, CustomStringConvertible {
        public var field: String
        public var description: String { "malformed history line: \(field)" }
    }

    /// Parses one line (without its newline).
    public init(_ line: some Collection<UInt8>) throws(Malformed) {
        let bytes = Array(line)
        func after(_ key: String) throws(Malformed) -> Int {
            let pattern = Array("\"\(key)\":".utf8)
            guard let at = bytes.firstRange(of: pattern) else { throw Malformed(field: key) }
            return at.upperBound
        }
        func integer(_ key: String) throws(Malformed) -> Int64 {
            let start = try after(key)
            var end = start
            while end < bytes.count, bytes[end] == UInt8(ascii: "-") || (bytes[end] >= 48 && bytes[end] <= 57) { end += 1 }
            guard let n = Int64(String(decoding: bytes[start..<end], as: UTF8.self)) else { throw Malformed(field: key) }
            return n
        }
        func text(_ key: String) throws(Malformed) -> String {
            let start = try after(key)
            guard start < bytes.count, bytes[start] == UInt8(ascii: "\""),
                  let end = bytes[(start + 1)...].firstIndex(of: UInt8(ascii: "\"")) else { throw Malformed(field: key) }
            return String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
        }
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else { throw Malformed(field: "line") }
        chainSeq = try integer("chain_seq")
        source = try text("source")
        sourceSeq = try integer("source_seq")
        let hex = try text("hash")
        guard let h = Digest32(hex: hex), h.count == 32 else { throw Malformed(field: "hash") }
        hash = h
        // The record is the last field: everything from its key to the closing brace.
        let start = try after("record")
        guard start < bytes.count - 1 else { throw Malformed(field: "record") }
        body = Array(bytes[start..<(bytes.count - 1)])
    }

    /// The line as the chain verifier checks it (the file carries no previous hash: each line's
    /// hash is recomputed from the one before).
    public func link(previous: Digest32) -> StoredLink {
        StoredLink(position: chainSeq, body: body, contentHash: nil, previous: previous, hash: hash)
    }
}
