import FuelLedger
import Foundation

/// A record's inclusion proof as a JSON file: what `GET /v1/stations/{id}/records/{seq}/proof`
/// answers and `fuelwarden verify --checkpoint FILE --proof FILE` checks offline.
public struct RecordProofFile: Codable, Sendable {
    /// The checkpoint (its id in the database, its signed root) the proof leads to.
    public var checkpointID: Int64
    public var checkpointRoot: String
    public var station: String
    public var seq: Int64
    public var body: String
    public var previousHash: String
    public var hash: String
    public var treeSize: Int64
    public var recordsRoot: String
    public var path: [String]
    /// The ledger's suite (absent in proofs saved before suites: the checkpoint's).
    public var suite: String?

    enum CodingKeys: String, CodingKey {
        case checkpointID = "checkpoint_id", checkpointRoot = "checkpoint_root_hash", station, seq, body, previousHash = "previous_hash", hash
        case treeSize = "records_tree_size", recordsRoot = "records_root", path, suite
    }

    public init(_ p: RecordProof, checkpointID: Int64, checkpointRoot: Digest32) {
        self.checkpointID = checkpointID
        self.checkpointRoot = Data(checkpointRoot).base64EncodedString()
        station = p.station
        seq = p.seq
        body = p.body
        previousHash = p.previousHash.hexString
        hash = p.hash.hexString
        treeSize = p.treeSize
        recordsRoot = p.recordsRoot.hexString
        path = p.path.map(\.hexString)
        suite = (p.suite ?? .international).rawValue
    }

    public static func decode(_ data: Data) throws -> RecordProofFile { try JSONDecoder().decode(RecordProofFile.self, from: data) }

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }

    /// The proof, or an error naming the malformed field.
    public func proof(suite fallback: LedgerSuite = .international) throws -> RecordProof {
        func digest(_ field: String, _ text: String) throws -> Digest32 {
            guard let d = [UInt8](hex: text), d.count == 32 else { throw CheckpointFileError("\(field): not 32 bytes of hex") }
            return d
        }
        return RecordProof(station: station, seq: seq, body: body, previousHash: try digest("previous_hash", previousHash),
                           hash: try digest("hash", hash), treeSize: treeSize, recordsRoot: try digest("records_root", recordsRoot),
                           path: try path.enumerated().map { try digest("path[\($0.offset)]", $0.element) },
                           suite: try suite.map { text in
                               guard let s = LedgerSuite(rawValue: text) else { throw CheckpointFileError("suite: \(text) is neither international nor guomi") }
                               return s
                           } ?? fallback)
    }

    /// What is wrong with this proof against a saved checkpoint (checked on its own first); empty when it holds.
    public func problems(in checkpoint: CheckpointFile) -> [String] {
        if checkpoint.rootHash != checkpointRoot { return ["the proof leads to another checkpoint (root \(checkpointRoot))"] }
        do {
            guard let leaf = try checkpoint.leaves().first(where: { $0.station == station }) else {
                return ["the checkpoint has no head for \(station)"]
            }
            let suite = checkpoint.ledgerSuite ?? .international
            let p = try proof(suite: suite)
            if p.suite != suite { return ["the proof is hashed under \((p.suite ?? .international).summary), the checkpoint under \(suite.summary)"] }
            return p.problems(against: leaf)
        } catch {
            return ["\(error)"]
        }
    }
}
