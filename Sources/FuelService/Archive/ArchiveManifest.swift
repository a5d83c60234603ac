import FuelLedger
import Foundation

/// `manifest.json` of an archived period: which stations' records it holds, where each station's
/// stretch of chain begins and ends, and the digests of its files. With the station files (history
/// export NDJSON) and the signed checkpoint beside it, it is all that is needed to check the
/// period offline (`fuelwarden verify --archive DIR`).
public struct ArchiveManifest: Codable, Sendable, Hashable {
    public struct Station: Codable, Sendable, Hashable {
        public var station: String
        /// Relative to the period's directory.
        public var file: String
        public var firstSeq: Int64
        public var lastSeq: Int64
        public var records: Int64
        /// Hex: the hash the first record links to (the genesis, zeros, when it is seq 1).
        public var previousHash: String
        /// Hex: the last record's hash, which the chain after the period links to.
        public var lastHash: String
        /// Hex SHA-256 of the file.
        public var sha256: String
        /// Per source, the highest source sequence in the period.
        public var maxSourceSeqs: [String: Int64]

        enum CodingKeys: String, CodingKey {
            case station, file, records, sha256
            case firstSeq = "first_seq", lastSeq = "last_seq", previousHash = "previous_hash", lastHash = "last_hash"
            case maxSourceSeqs = "max_source_seqs"
        }
    }

    public struct CheckpointRef: Codable, Sendable, Hashable {
        public var file: String
        public var issuedAt: String
        public var sha256: String
        enum CodingKeys: String, CodingKey { case file, sha256, issuedAt = "issued_at" }
    }

    /// The layout's version (1).
    public var format: Int = 1
    public var period: String
    /// RFC 3339; nil for the records from before the ledger was partitioned.
    public var startsAt: String?
    public var endsAt: String
    /// `international` or `guomi`: the hash the chains are of.
    public var suite: String
    public var archivedAt: String
    public var checkpoint: CheckpointRef
    public var stations: [Station]

    enum CodingKeys: String, CodingKey {
        case format, period, suite, checkpoint, stations
        case startsAt = "starts_at", endsAt = "ends_at", archivedAt = "archived_at"
    }

    public static let fileName = ArchiveLayout.manifest

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }

    public static func decode(_ data: Data) throws -> ArchiveManifest { try JSONDecoder().decode(ArchiveManifest.self, from: data) }

    /// A station's file (``ArchiveLayout/stationFile(_:)``).
    public static func fileName(station: String) -> String { ArchiveLayout.stationFile(station) }
}
