import Crypto
import FuelLedger
import FuelModel
import FuelStore
import Foundation
import Logging
import NIOCore

/// `fuelwarden archive --before YYYY-MM`: each whole period of the ledger before that month is
/// written to `DIR/<period>/` — every station's records as history export NDJSON, the signed
/// checkpoint that covers them and `manifest.json` — the files are read back and checked against
/// the chain, and only then is the period recorded as archived (each station's chain now begins
/// after it) and its partition detached and dropped. Periods go oldest first; one that cannot be
/// archived stops the run before anything of it is dropped.
public struct LedgerArchiver: Sendable {
    public let database: FuelDatabase
    public let logger: Logger

    public init(database: FuelDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct Outcome: Sendable, Hashable {
        public var period: String
        public var stations: Int
        public var records: Int64
        public var directory: String
    }

    /// Why a period cannot be archived (nothing of it was dropped).
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The start of month `text` (`YYYY-MM`), UTC.
    public static func monthStart(_ text: String) -> Date? {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (1...12).contains(m) else { return nil }
        var c = DateComponents()
        (c.year, c.month, c.day) = (y, m, 1)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: c)
    }

    /// Archives every live period that ended by `before` (and by now) into `root`.
    /// - Parameter dryRun: only say what would be archived.
    public func archive(before: Date, to root: String, now: Date = Date(), dryRun: Bool = false,
                        progress: @Sendable (String) -> Void = { _ in }) async throws -> [Outcome] {
        let store = LedgerArchiveStore(database: database)
        // A run that stopped after recording a period but before dropping it is finished first.
        for p in try await LedgerPeriods(database: database).list() where p.archived && !dryRun { try await store.drop(p) }
        let periods = try await store.archivable(before: before, now: now)
        var outcomes: [Outcome] = []
        for period in periods {
            let spans = try await store.spans(in: period)
            let dir = (root as NSString).appendingPathComponent(period.name)
            if dryRun {
                outcomes.append(Outcome(period: period.name, stations: spans.count, records: spans.reduce(0) { $0 + $1.records }, directory: dir))
                continue
            }
            let outcome = try await archive(period, spans: spans, into: dir, store: store, progress: progress)
            outcomes.append(outcome)
        }
        return outcomes
    }

    private func archive(_ period: LedgerPeriod, spans: [PeriodSpan], into dir: String, store: LedgerArchiveStore,
                         progress: @Sendable (String) -> Void) async throws -> Outcome {
        let suite = try await database.ledgerSuite()
        // The signed checkpoint that covers the period: its heads at or past every station's last
        // record in it. Without one the files could not be proven later.
        guard let checkpoint = try await CheckpointStore(database: database).latest() else {
            throw Refusal(description: "\(period.name): there is no signed checkpoint (set checkpoint.signing_key and let the daemon issue one)")
        }
        let heads = Dictionary(checkpoint.heads.map { ($0.station, $0.headSeq) }, uniquingKeysWith: max)
        let uncovered = spans.filter { (heads[$0.station] ?? 0) < $0.lastSeq }
        guard uncovered.isEmpty else {
            throw Refusal(description: "\(period.name): the newest signed checkpoint (\(checkpoint.checkpoint.issuedAt.rfc3339)) does not cover it\(uncovered.first.map { " (station \($0.station) up to seq \($0.lastSeq))" } ?? ""); wait for the next one")
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: (dir as NSString).appendingPathComponent("records"), withIntermediateDirectories: true)
        let checkpointData = try CheckpointFile(checkpoint).encoded()
        try checkpointData.write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(ArchiveLayout.checkpoint)), options: .atomic)

        var entries: [ArchiveManifest.Station] = []
        var problems: [String] = []
        let history = HistoryStore(database: database)
        for span in spans {
            let file = ArchiveManifest.fileName(station: span.station)
            let path = (dir as NSString).appendingPathComponent(file)
            let sha = try await write(span, to: path, history: history)
            let entry = ArchiveManifest.Station(
                station: span.station, file: file, firstSeq: span.firstSeq, lastSeq: span.lastSeq, records: span.records,
                previousHash: span.previousHash.hexString, lastHash: span.successorLinksTo.hexString, sha256: sha, maxSourceSeqs: span.maxSourceSeqs)
            // Read back: the file must recompute to what the chain after the period links to.
            problems += StationFileCheck.check(path: path, expected: entry, suite: suite).problems
            entries.append(entry)
        }
        guard problems.isEmpty else {
            throw Refusal(description: "\(period.name): the files written do not check against the chain, nothing dropped: " + problems.prefix(5).joined(separator: "; "))
        }
        let manifest = ArchiveManifest(
            period: period.name, startsAt: period.starts.map { Timestamp($0).rfc3339 }, endsAt: Timestamp(period.ends).rfc3339,
            suite: suite.rawValue, archivedAt: Timestamp(.now).rfc3339,
            checkpoint: .init(file: ArchiveLayout.checkpoint, issuedAt: checkpoint.checkpoint.issuedAt.rfc3339,
                              sha256: Array(SHA256.hash(data: checkpointData)).hexString),
            stations: entries)
        let manifestData = try manifest.encoded()
        try manifestData.write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(ArchiveManifest.fileName)), options: .atomic)
        let records = spans.reduce(0) { $0 + $1.records }
        let summary = """
            {"directory": \(jsonString(dir)), "manifest_sha256": "\(Array(SHA256.hash(data: manifestData)).hexString)", "stations": \(spans.count), "records": \(records)}
            """
        try await store.retire(period, spans: spans, archive: summary)
        progress("\(period.name): \(records) records of \(spans.count) stations written to \(dir) and checked; recorded as archived")
        var archived = period
        archived.archived = true
        try await store.drop(archived)
        progress("\(period.name): partition detached and dropped")
        logger.notice("ledger period archived", metadata: ["period": "\(period.name)", "records": "\(records)", "directory": "\(dir)"])
        return Outcome(period: period.name, stations: spans.count, records: records, directory: dir)
    }

    /// Writes a station's stretch as history NDJSON; answers the file's SHA-256 (hex).
    private func write(_ span: PeriodSpan, to path: String, history: HistoryStore) async throws -> String {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw Refusal(description: "cannot write \(path)")
        }
        defer { try? handle.close() }
        let digest = HashBox()
        try await history.stream(station: span.station, after: span.firstSeq - 1, from: nil, to: nil, through: span.lastSeq, layout: .ndjson) { chunk in
            let data = Data(chunk.readableBytesView)
            digest.update(data)
            try handle.write(contentsOf: data)
        }
        try handle.synchronize()
        return digest.hex
    }

    private func jsonString(_ s: String) -> String {
        String(decoding: (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// A running SHA-256 fed from the export's callback (called in order, one chunk at a time).
private final class HashBox: @unchecked Sendable {
    private var sha = SHA256()
    func update(_ data: Data) { sha.update(data: data) }
    var hex: String { Array(sha.finalize()).hexString }
}
