import FuelFeeds
import FuelModel
import FuelWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage

/// The agent's durable spool: an SQLite database (the system's libsqlite3, through the thin glue of `SQLiteDatabase`) in WAL mode
/// with `synchronous = FULL`, so a record counts as collected only once its transaction is on
/// disk, and a write torn by a crash or power loss is rolled back by SQLite itself, never half
/// read. Every record gets the station's next `seq` when it is spooled; records leave only when a
/// 200 from the cloud covers them. Nothing spooled is ever deleted to make room: at the ceiling
/// (`spool.max_mb`) the sources pause instead.
///
/// Tables: `records` (seq, the push line's fields, natural key), `files` (drop files taken, by
/// content digest, until every record of theirs is acknowledged), `seen_keys` (natural keys of
/// acknowledged records, so a console polled again after an upload adds nothing), `state`
/// (next and acknowledged seq, spool-full times, last poll per source) and `events` (the last errors).
public final class AgentSpool: Sendable {
    let database: SQLiteDatabase
    public let maxBytes: Int64
    public let path: String
    /// Where a fault test cuts a spool write (``SpoolFaultPoint``); inert unless armed.
    let faultPoint = SpoolFaultPoint()

    /// Opens (or creates) the spool in `directory`.
    public init(directory: String, maxBytes: Int64) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = FilePath(directory).appending("spool.sqlite").string
        database = try SQLiteDatabase(path: path)
        self.maxBytes = maxBytes
        try database.withoutTransaction { db in
            // Durable at commit: the WAL is fsynced before a transaction counts as done.
            _ = try db.rows("PRAGMA journal_mode = WAL")
            try db.execute("PRAGMA synchronous = FULL")
        }
        try Self.migrate(database)
    }

    /// The spool's schema, in order; each applied once, in a transaction with its record.
    static let migrations: [(identifier: String, sql: String)] = [
        ("1 spool", """
                CREATE TABLE records (
                    seq INTEGER PRIMARY KEY, fields TEXT NOT NULL, kind TEXT NOT NULL, origin TEXT NOT NULL,
                    natural_key TEXT UNIQUE, file_id INTEGER, collected_at REAL NOT NULL);
                CREATE TABLE files (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, lines INTEGER NOT NULL,
                    records INTEGER NOT NULL, rejected INTEGER NOT NULL, last_seq INTEGER, state TEXT NOT NULL,
                    taken_at REAL NOT NULL, done_at REAL);
                CREATE TABLE seen_keys (natural_key TEXT PRIMARY KEY, at REAL NOT NULL);
                CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);
                """),
        // HJ 212-2025 device keys changed with CN 1014 (and when a configured key was first seen):
        // a restart must decrypt the first packet after a change.
        ("2 hj212 keys", """
                CREATE TABLE hj212_keys (
                    mn TEXT NOT NULL, key BLOB NOT NULL, since REAL NOT NULL, origin TEXT NOT NULL, pending INTEGER NOT NULL,
                    PRIMARY KEY (mn, key));
                """),
    ]

    /// Applies the migrations not yet applied. Applied ones are listed in `grdb_migrations`, the
    /// table GRDB's migrator kept when the spool was written through GRDB: a spool from an earlier
    /// agent opens as it is.
    static func migrate(_ database: SQLiteDatabase) throws {
        for m in migrations {
            try database.write { db in
                try db.execute("CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                guard try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM grdb_migrations WHERE identifier = ?)", [m.identifier]) != true else { return }
                try db.executeScript(m.sql)
                try db.execute("INSERT INTO grdb_migrations (identifier) VALUES (?)", [m.identifier])
            }
        }
    }

    /// One record to spool: its push line without `seq`, and a natural key when the source can
    /// collect the same thing twice (a console read again within its minute).
    public struct Item: Sendable {
        public var record: FuelModel.Record
        public var naturalKey: String?
        public var origin: String

        public init(record: FuelModel.Record, naturalKey: String? = nil, origin: String) {
            self.record = record
            self.naturalKey = naturalKey
            self.origin = origin
        }
    }

    /// A drop file being taken: its records are spooled with it in one transaction.
    public struct FileIntake: Sendable {
        public var name: String
        public var digest: String
        public var lines: Int
        public var rejected: Int

        public init(name: String, digest: String, lines: Int, rejected: Int) {
            self.name = name
            self.digest = digest
            self.lines = lines
            self.rejected = rejected
        }
    }

    /// Whether the spool needs the station's first seq from the cloud (a new spool).
    public func needsFirstSeq() throws -> Bool {
        try database.read { db in try db.value(String.self, "SELECT value FROM state WHERE key = 'next_seq'") == nil }
    }

    /// Sets where numbering starts (the station's last pushed seq + 1), once.
    public func setFirstSeq(_ seq: Int64) throws {
        try database.write { db in
            try db.execute("INSERT OR IGNORE INTO state (key, value) VALUES ('next_seq', ?)", [String(seq)])
        }
    }

    /// Spools `items` (each numbered, in order) and, with them, the drop file they came from — all
    /// or nothing, on disk when this returns. Items whose natural key is spooled or was acknowledged
    /// are skipped. Answers how many were added.
    @discardableResult
    public func append(_ items: [Item], file: FileIntake? = nil, now: Date = Date()) throws -> Int {
        let dieAfter = faultPoint.armed(records: items.count) ? items.count / 2 : nil
        return try database.write { db in try Self.append(db, items, file: file, now: now, dieAfter: dieAfter.map { ($0, faultPoint) }) }
    }

    /// ``append(_:file:now:)`` inside a transaction the caller holds.
    /// `dieAfter`: a fault test's cut (``SpoolFaultPoint``) after that many rows, before the commit.
    static func append(_ db: SQLiteSession, _ items: [Item], file: FileIntake?, now: Date,
                       dieAfter: (rows: Int, point: SpoolFaultPoint)? = nil) throws -> Int {
        guard var next = try db.value(String.self, "SELECT value FROM state WHERE key = 'next_seq'").flatMap({ Int64($0) }) else {
            throw AgentError("the spool has no starting seq yet (the cloud was not asked for the station's last seq)")
        }
        var fileID: Int64?
        if let file {
            try db.execute("""
                INSERT INTO files (name, digest, lines, records, rejected, state, taken_at) VALUES (?, ?, ?, 0, ?, 'spooled', ?)
                """, [file.name, file.digest, file.lines, file.rejected, now.timeIntervalSince1970])
            fileID = db.lastInsertedRowID
        }
        var added = 0
        for item in items {
            if let key = item.naturalKey,
               try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM seen_keys WHERE natural_key = ?)", [key]) == true {
                continue
            }
            try db.execute("""
                INSERT OR IGNORE INTO records (seq, fields, kind, origin, natural_key, file_id, collected_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [next, Self.fields(item.record), item.record.kind.rawValue, item.origin, item.naturalKey, fileID,
                                 now.timeIntervalSince1970])
            guard db.changes == 1 else { continue }
            next += 1
            added += 1
            if let cut = dieAfter, added == cut.rows { cut.point.die() }
        }
        try db.execute("UPDATE state SET value = ? WHERE key = 'next_seq'", [String(next)])
        if let fileID {
            try db.execute("""
                UPDATE files SET records = ?, last_seq = ?, state = CASE WHEN ? = 0 THEN 'acked' ELSE 'spooled' END WHERE id = ?
                """, [added, added > 0 ? next - 1 : nil, added, fileID])
        }
        return added
    }

    /// The push line's fields after `seq` (the line is `{"seq":N,` + these).
    static func fields(_ record: FuelModel.Record) -> String {
        let line = PushRecordCodec.encode(PushLine(seq: 0, record: record))
        return String(line.dropFirst("{\"seq\":0,".count))
    }

    /// The line the cloud receives for a spooled record.
    static func line(seq: Int64, fields: String) -> String { "{\"seq\":\(seq),\(fields)" }

    /// Whether a drop file with this content was taken before (it stays where it is until acknowledged).
    public func knowsFile(digest: String) throws -> Bool {
        try database.read { db in try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM files WHERE digest = ?)", [digest]) ?? false }
    }

    /// What is wrong with the spool on disk, if anything: SQLite's integrity check, records
    /// numbered at or beyond the next seq, and drop files whose spooled records do not add up —
    /// what a write cut before its commit must never leave behind. Empty when consistent.
    public func consistencyProblems() throws -> [String] {
        try database.read { db in
            var problems = try db.column(String.self, "PRAGMA integrity_check").filter { $0 != "ok" }
            if let next = try db.value(String.self, "SELECT value FROM state WHERE key = 'next_seq'").flatMap({ Int64($0) }),
               let top = try db.value(Int64.self, "SELECT max(seq) FROM records"), top >= next {
                problems.append("record seq \(top) at or beyond the next seq \(next)")
            }
            for row in try db.rows("""
                SELECT f.name, f.records, count(r.seq) AS here FROM files f
                LEFT JOIN records r ON r.file_id = f.id WHERE f.state = 'spooled' GROUP BY f.id
                """) {
                // Records leave the spool as they are acknowledged, so a file never has more here
                // than it recorded at its intake; more means its intake was half kept.
                let (records, here): (Int64, Int64) = (try row["records"], try row["here"])
                if here > records {
                    problems.append("drop file \(try row["name"] as String): \(here) records spooled against \(records) recorded at its intake")
                }
            }
            return problems
        }
    }

    /// The oldest spooled records, in seq order: (seq, push line).
    public func batch(limit: Int) throws -> [(seq: Int64, line: String)] {
        try database.read { db in
            try db.rows("SELECT seq, fields FROM records ORDER BY seq LIMIT ?", [limit]).map { row in
                let seq: Int64 = try row["seq"]
                return (seq, Self.line(seq: seq, fields: try row["fields"]))
            }
        }
    }

    /// A drop file whose every record the cloud has acknowledged.
    public struct AcknowledgedFile: Sendable, Hashable {
        public var id: Int64
        public var name: String
    }

    /// The cloud's 200 covered every record up to `seq`: they leave the spool (their natural keys
    /// are remembered), the rejected ones are counted and noted. Answers the drop files now
    /// wholly acknowledged.
    public func acknowledge(through seq: Int64, accepted: Int, duplicates: Int, rejected: [(seq: Int64?, reason: String)],
                            now: Date = Date()) throws -> [AcknowledgedFile] {
        try database.write { db in
            try db.execute("""
                INSERT OR IGNORE INTO seen_keys (natural_key, at) SELECT natural_key, ? FROM records WHERE seq <= ? AND natural_key IS NOT NULL
                """, [now.timeIntervalSince1970, seq])
            try db.execute("DELETE FROM records WHERE seq <= ?", [seq])
            // Keys older than a week cannot come back from a console (its readings carry their time).
            try db.execute("DELETE FROM seen_keys WHERE at < ?", [now.timeIntervalSince1970 - 7 * 86_400])
            try Self.add(db, "acked_seq", set: seq)
            try Self.add(db, "accepted_total", by: Int64(accepted))
            try Self.add(db, "duplicate_total", by: Int64(duplicates))
            try Self.add(db, "rejected_total", by: Int64(rejected.count))
            for r in rejected.prefix(20) {
                try Self.note(db, kind: "rejected", text: "the cloud refused seq \(r.seq.map(String.init) ?? "?"): \(r.reason)", now: now)
            }
            let done = try db.rows("SELECT id, name FROM files WHERE state = 'spooled' AND last_seq <= ?", [seq])
                .map { AcknowledgedFile(id: try $0["id"], name: try $0["name"]) }
            try db.execute("UPDATE files SET state = 'acked' WHERE state = 'spooled' AND last_seq <= ?", [seq])
            return done
        }
    }

    /// Drop files acknowledged but not yet moved to `done/` (a crash between the two).
    public func acknowledgedFiles() throws -> [AcknowledgedFile] {
        try database.read { db in
            try db.rows("SELECT id, name FROM files WHERE state = 'acked'").map { AcknowledgedFile(id: try $0["id"], name: try $0["name"]) }
        }
    }

    /// The file is in `done/`.
    public func fileDone(_ id: Int64, now: Date = Date()) throws {
        try database.write { db in
            try db.execute("UPDATE files SET state = 'done', done_at = ? WHERE id = ?", [now.timeIntervalSince1970, id])
        }
    }

    /// Bytes the spooled data takes (pages in use; freed pages are reused, so this falls as
    /// records are acknowledged).
    public func usedBytes() throws -> Int64 {
        try database.read { db in
            let pages = try db.value(Int64.self, "PRAGMA page_count") ?? 0
            let free = try db.value(Int64.self, "PRAGMA freelist_count") ?? 0
            let size = try db.value(Int64.self, "PRAGMA page_size") ?? 4096
            return (pages - free) * size
        }
    }

    public func isFull() throws -> Bool { try usedBytes() >= maxBytes }

    /// Whether a full spool has room again: below 90 % of the ceiling, so that sources do not
    /// flap on and off at the line.
    public func hasRoomAgain() throws -> Bool { try usedBytes() < maxBytes / 10 * 9 }

    /// Whether sources must not add now: at the ceiling, or not yet back below 90 % of it since.
    public func mustPause() throws -> Bool {
        if try isFull() { return true }
        let full = try database.read { db in try db.value(String.self, "SELECT value FROM state WHERE key = 'full_since'") } != nil
        return full ? try !hasRoomAgain() : false
    }

    /// Notes that the spool is at its ceiling (from `now`, if it was not already).
    public func markFull(now: Date = Date()) throws {
        try database.write { db in
            try db.execute("INSERT OR IGNORE INTO state (key, value) VALUES ('full_since', ?)", [String(now.timeIntervalSince1970)])
        }
    }

    /// The spool is below its ceiling again: the time it was full ends, and a `device_status`
    /// record saying how long is spooled in the same transaction. Answers the seconds, or nil when it was not full.
    @discardableResult
    public func clearFull(station device: String, now: Date = Date()) throws -> Double? {
        try database.write { db in
            guard let since = try db.value(String.self, "SELECT value FROM state WHERE key = 'full_since'").flatMap(Double.init) else { return nil }
            let seconds = now.timeIntervalSince1970 - since
            let status = DeviceStatus(device: device, at: Timestamp(now), state: .online, codes: [
                "spool_full_seconds=\(Int(seconds.rounded()))", "spool_full_from=\(Timestamp(seconds: Int64(since)).rfc3339)",
            ])
            _ = try Self.append(db, [Item(record: FuelModel.Record.deviceStatus(status), origin: "agent")], file: nil, now: now)
            try db.execute("DELETE FROM state WHERE key = 'full_since'")
            try Self.add(db, "full_seconds_total", by: Int64(seconds.rounded()))
            try Self.note(db, kind: "spool", text: "the spool was full for \(Int(seconds)) s; readings resumed", now: now)
            return seconds
        }
    }

    /// The station clock's offset from the cloud's (`Date` header), kept for the status page. When it
    /// passes `limitSeconds` either way — or comes back within it — a `device_status` record from
    /// device `agent-clock` is spooled with the offset as evidence (`clock_offset_seconds=…`), once
    /// per change. Answers whether a record was spooled.
    @discardableResult
    public func noteClockOffset(_ seconds: Double, limitSeconds: Double = 30, now: Date = Date()) throws -> Bool {
        try database.write { db in
            try db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('clock_offset_seconds', ?)",
                           [PlainFormat.fixed(seconds, decimals: 1)])
            let off = abs(seconds) > limitSeconds
            let was = try db.value(String.self, "SELECT value FROM state WHERE key = 'clock_off'") == "1"
            guard off != was else { return false }
            let status = DeviceStatus(device: "agent-clock", at: Timestamp(now), state: off ? .alarm : .online,
                                      codes: ["clock_offset_seconds=" + PlainFormat.fixed(seconds, decimals: 0, plusSign: true), "limit_seconds=\(Int(limitSeconds))"])
            _ = try Self.append(db, [Item(record: FuelModel.Record.deviceStatus(status), origin: "agent")], file: nil, now: now)
            try db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('clock_off', ?)", [off ? "1" : "0"])
            return true
        }
    }

    /// A console poll not taken because the spool is full (shown on the status page).
    public func countSkippedPoll() throws {
        try database.write { db in try Self.add(db, "skipped_polls_total", by: 1) }
    }

    /// A value of the spool's state (nil: never set).
    public func value(_ key: String) throws -> String? {
        try database.read { db in try db.value(String.self, "SELECT value FROM state WHERE key = ?", [key]) }
    }

    /// Sets a state value.
    public func set(_ key: String, _ value: String) throws {
        try database.write { db in try db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", [key, value]) }
    }

    /// Keeps an event (an error, a condition) for the status page; the last 200 are kept.
    public func note(kind: String, text: String, now: Date = Date()) throws {
        try database.write { db in try Self.note(db, kind: kind, text: text, now: now) }
    }

    static func note(_ db: SQLiteSession, kind: String, text: String, now: Date) throws {
        try db.execute("INSERT INTO events (at, kind, text) VALUES (?, ?, ?)", [now.timeIntervalSince1970, kind, text])
        try db.execute("DELETE FROM events WHERE id <= (SELECT max(id) - 200 FROM events)")
    }

    static func add(_ db: SQLiteSession, _ key: String, by delta: Int64) throws {
        try db.execute("""
            INSERT INTO state (key, value) VALUES (?, ?)
            ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)
            """, [key, String(delta), delta])
    }

    static func add(_ db: SQLiteSession, _ key: String, set value: Int64) throws {
        try db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", [key, String(value)])
    }

    /// What `fuelwarden agent status` and `/status` show.
    public func snapshot(now: Date = Date()) throws -> AgentStatus {
        try database.read { db in
            var s = AgentStatus()
            s.spooledRecords = try db.value(Int64.self, "SELECT count(*) FROM records") ?? 0
            if let oldest = try db.value(Double.self, "SELECT min(collected_at) FROM records") {
                s.oldestAgeSeconds = now.timeIntervalSince1970 - oldest
            }
            let state = Dictionary(try db.rows("SELECT key, value FROM state").map { (try $0["key"] as String, try $0["value"] as String) },
                                   uniquingKeysWith: { a, _ in a })
            s.nextSeq = state["next_seq"].flatMap { Int64($0) }
            s.acknowledgedSeq = state["acked_seq"].flatMap { Int64($0) }
            s.acceptedTotal = state["accepted_total"].flatMap { Int64($0) } ?? 0
            s.duplicateTotal = state["duplicate_total"].flatMap { Int64($0) } ?? 0
            s.rejectedTotal = state["rejected_total"].flatMap { Int64($0) } ?? 0
            s.fullSince = state["full_since"].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
            s.fullSecondsTotal = state["full_seconds_total"].flatMap { Int64($0) } ?? 0
            s.skippedPollsWhileFull = state["skipped_polls_total"].flatMap { Int64($0) } ?? 0
            s.lastUpload = state["last_upload"]
            s.clockOffsetSeconds = state["clock_offset_seconds"].flatMap(Double.init)
            s.uploadBlocked = state["upload_blocked"].flatMap { $0.isEmpty ? nil : $0 }
            s.sources = state.filter { $0.key.hasPrefix("poll:") }.map { ($0.key.dropFirst(5).description, $0.value) }
                .sorted { $0.0 < $1.0 }.map { AgentStatus.Source(name: $0.0, last: $0.1) }
            s.filesWaiting = try db.value(Int64.self, "SELECT count(*) FROM files WHERE state <> 'done'") ?? 0
            s.filesDone = try db.value(Int64.self, "SELECT count(*) FROM files WHERE state = 'done'") ?? 0
            s.recentEvents = try db.rows("SELECT at, kind, text FROM events ORDER BY id DESC LIMIT 20").map {
                AgentStatus.Event(at: Date(timeIntervalSince1970: try $0["at"]), kind: try $0["kind"], text: try $0["text"])
            }
            let pages = try db.value(Int64.self, "PRAGMA page_count") ?? 0
            let free = try db.value(Int64.self, "PRAGMA freelist_count") ?? 0
            let size = try db.value(Int64.self, "PRAGMA page_size") ?? 4096
            s.spoolBytes = (pages - free) * size
            s.spoolMaxBytes = maxBytes
            return s
        }
    }
}

/// An agent failure with a message for the operator.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

// MARK: HJ 212 device keys

extension AgentSpool {
    /// Every stored device key.
    public func hj212Keys() throws -> [HJ212StoredKey] {
        try database.read { db in
            try db.rows("SELECT mn, key, since, origin, pending FROM hj212_keys ORDER BY since").map {
                HJ212StoredKey(mn: try $0["mn"], key: try $0["key"], since: Date(timeIntervalSince1970: try $0["since"]),
                               origin: try $0["origin"], pending: try $0["pending"])
            }
        }
    }

    /// A configured key's first sighting: stored once, answered ever after.
    public func noteHJ212Key(mn: String, key: [UInt8], origin: String, now: Date = Date()) throws -> Date {
        try database.write { db in
            try db.execute("INSERT OR IGNORE INTO hj212_keys (mn, key, since, origin, pending) VALUES (?, ?, ?, ?, 0)",
                           [mn, key, now.timeIntervalSince1970, origin])
            let since = try db.value(Double.self, "SELECT since FROM hj212_keys WHERE mn = ? AND key = ?", [mn, key])
            return Date(timeIntervalSince1970: since ?? now.timeIntervalSince1970)
        }
    }

    /// Stores a key in force (or pending), replacing what was stored for the same key.
    public func storeHJ212Key(mn: String, key: [UInt8], since: Date, origin: String, pending: Bool) throws {
        try database.write { db in
            try db.execute("""
                INSERT INTO hj212_keys (mn, key, since, origin, pending) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (mn, key) DO UPDATE SET since = excluded.since, origin = excluded.origin, pending = excluded.pending
                """, [mn, key, since.timeIntervalSince1970, origin, pending])
        }
    }
}

/// The station agent's device keys live in its spool (one SQLite file, fsynced like the records).
struct SpoolHJ212KeyStorage: HJ212KeyStorage {
    let spool: AgentSpool
    func keys() async throws -> [HJ212StoredKey] { try spool.hj212Keys() }
    func noteConfigured(mn: String, key: [UInt8], origin: String) async throws -> Date { try spool.noteHJ212Key(mn: mn, key: key, origin: origin) }
    func store(mn: String, key: [UInt8], since: Date, origin: String, pending: Bool) async throws {
        try spool.storeHJ212Key(mn: mn, key: key, since: since, origin: origin, pending: pending)
    }
    func describe(_ error: any Error) -> String { String(describing: error) }
}
