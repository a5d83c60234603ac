import Crypto
import FuelLedger
import FuelModel
import FuelStore
import Foundation
import Hummingbird
import NIOCore

/// `GET /v1/checkpoints/latest`: the newest signed checkpoint with its leaves — save it, and
/// `fuelwarden verify --checkpoint FILE --public-key KEY` checks it and the database against it later.
public struct CheckpointsController: Sendable {
    let store: CheckpointStore
    /// Archived months, for proofs of records in them (`ledger.archive_directory`).
    let archive: ArchiveDirectory?

    public init(store: CheckpointStore, archive: ArchiveDirectory? = nil) {
        self.store = store
        self.archive = archive
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("checkpoints/latest", use: latest)
        group.get("stations/{station}/records/{seq}/proof", use: proof)
    }

    /// `GET /v1/stations/{id}/records/{seq}/proof[?checkpoint=ID]`: the record's inclusion proof in
    /// the latest (or the given) checkpoint.
    @Sendable func proof(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let station = try context.parameters.require("station")
        let seqText = try context.parameters.require("seq")
        guard let seq = Int64(seqText), seq > 0 else { throw APIError(.badRequest, "seq: expected a positive chain position, got \"\(seqText)\"") }
        let c: StoredCheckpoint
        if let idText = request.uri.queryParameters.get("checkpoint") {
            guard let id = Int64(idText) else { throw APIError(.badRequest, "checkpoint: expected an id, got \"\(idText)\"") }
            guard let found = try await store.checkpoint(id: id) else { throw APIError(.notFound, "checkpoint \(id) does not exist") }
            c = found
        } else {
            guard let found = try await store.latest() else { throw APIError(.notFound, "no checkpoint yet (is checkpoint.signing_key configured?)") }
            c = found
        }
        guard let leaf = c.heads.first(where: { $0.station == station }) else {
            throw APIError(.notFound, "checkpoint \(c.id) has no head for station \(station)")
        }
        guard leaf.recordsRoot != nil else { throw APIError(.notFound, "checkpoint \(c.id) was signed before per-record proofs were kept") }
        guard seq <= leaf.headSeq else {
            throw APIError(.notFound, "record \(seq) of \(station) is not in checkpoint \(c.id) yet (it covers 1…\(leaf.headSeq)); retry after the next checkpoint")
        }
        let found: RecordProof?
        do {
            found = try await store.proof(station: station, seq: seq, in: c, archive: archive)
        } catch let unreadable as ArchiveDirectory.Unreadable {
            throw APIError(.serviceUnavailable, "record \(seq) of \(station) needs the archive: \(unreadable.description)")
        }
        guard let p = found else { throw APIError(.notFound, "\(station) has no record \(seq)") }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try RecordProofFile(p, checkpointID: c.id, checkpointRoot: c.checkpoint.root).encoded())))
    }

    @Sendable func latest(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        guard let c = try await store.latest() else {
            throw APIError(.notFound, "no checkpoint yet (is checkpoint.signing_key configured?)")
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try CheckpointFile(c).encoded())))
    }
}

/// A checkpoint as a JSON file: what the API answers and what `verify --checkpoint` reads.
public struct CheckpointFile: Codable, Sendable {
    public struct Head: Codable, Sendable {
        public var station: String
        public var seq: Int64
        public var hash: String
        /// Hex root of the station's records tree (absent in checkpoints signed before it was kept).
        public var recordsRoot: String?
        enum CodingKeys: String, CodingKey { case station, seq, hash, recordsRoot = "records_root" }
    }
    public var origin: String
    public var treeSize: Int
    /// Base64 of the 32-byte tree hash.
    public var rootHash: String
    public var issuedAt: String
    /// Base64 of the signature over `note` (Ed25519, or SM2 DER under `guomi`).
    public var signature: String
    /// The signer's public key as the database has it (trust the one you were given): base64 of the
    /// 32-byte Ed25519 key, or the SM2 key's PEM under `guomi`.
    public var publicKey: String
    public var note: String
    public var heads: [Head]
    /// The ledger's suite (`international` or `guomi`; absent in files saved before suites: international).
    public var suite: String?

    enum CodingKeys: String, CodingKey {
        case origin, treeSize = "tree_size", rootHash = "root_hash", issuedAt = "issued_at", signature, publicKey = "public_key", note, heads, suite
    }

    /// The suite the file names (international when it names none); nil for an unknown name.
    public var ledgerSuite: LedgerSuite? { suite.map { LedgerSuite(rawValue: $0) } ?? .international }

    public init(_ s: StoredCheckpoint) {
        origin = s.checkpoint.origin
        treeSize = s.checkpoint.treeSize
        rootHash = Data(s.checkpoint.root).base64EncodedString()
        issuedAt = s.checkpoint.issuedAt.rfc3339
        signature = Data(s.checkpoint.signature).base64EncodedString()
        suite = s.checkpoint.suite.rawValue
        publicKey = s.checkpoint.suite == .guomi ? String(decoding: s.publicKey, as: UTF8.self) : Data(s.publicKey).base64EncodedString()
        note = s.checkpoint.signedText
        heads = s.heads.map { Head(station: $0.station, seq: $0.headSeq, hash: $0.headHash.hexString, recordsRoot: $0.recordsRoot?.hexString) }
    }

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }
}

extension CheckpointFile {
    /// Reads a saved checkpoint.
    public static func decode(_ data: Data) throws -> CheckpointFile {
        try JSONDecoder().decode(CheckpointFile.self, from: data)
    }

    /// The heads as tree leaves.
    public func leaves() throws -> [ChainHeadLeaf] {
        try heads.map { h in
            guard let hash = [UInt8](hex: h.hash), hash.count == 32 else { throw CheckpointFileError("head of \(h.station): hash is not 32 bytes of hex") }
            var root: Digest32?
            if let text = h.recordsRoot {
                guard let r = [UInt8](hex: text), r.count == 32 else { throw CheckpointFileError("head of \(h.station): records_root is not 32 bytes of hex") }
                root = r
            }
            return ChainHeadLeaf(station: h.station, headSeq: h.seq, headHash: hash, recordsRoot: root)
        }
    }

    /// Checks the file on its own, offline: the signature by `trustedKey` (Ed25519 base64 or SM2 PEM;
    /// the file's own key when nil, which proves only that the file is intact), and that the heads make
    /// the signed tree under the file's suite. Returns what is wrong; empty when nothing is.
    public func problems(trustedKey: String?) -> [String] {
        var out: [String] = []
        guard let suite = ledgerSuite else { return ["suite \"\(suite ?? "")\" is neither international nor guomi"] }
        guard let root = Data(base64Encoded: rootHash).map(Array.init), root.count == 32,
              let sig = Data(base64Encoded: signature).map(Array.init),
              let at = Timestamp(rfc3339: issuedAt) else { return ["root_hash, signature or issued_at is malformed"] }
        let c = Checkpoint(origin: origin, treeSize: treeSize, root: root, issuedAt: at, signature: sig, suite: suite)
        if c.signedText != note { out.append("the note does not match the fields it signs") }
        let key: CheckpointPublicKey
        do {
            key = try CheckpointPublicKey.parse(trustedKey ?? publicKey)
        } catch {
            return out + ["the \(trustedKey == nil ? "file's" : "trusted") public key: \(error)"]
        }
        if let why = c.signatureProblem(with: key) {
            out.append(key.suite != suite ? why : trustedKey == nil ? "the signature does not verify with the file's key" : "not signed by the trusted key")
        }
        do {
            let leaves = try self.leaves()
            if leaves.count != treeSize { out.append("\(leaves.count) heads listed, the tree has \(treeSize)") }
            let sorted = leaves.sorted { $0.station < $1.station }
            if MerkleTree.root(leafHashes: sorted.map { $0.leafHash(suite) }, suite: suite) != root { out.append("the heads do not make the signed tree") }
        } catch {
            out.append("\(error)")
        }
        return out
    }
}

public struct CheckpointFileError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
