import Foundation
import FuelLab
import FuelStore
import Logging
import NIOCore
import PostgresNIO

/// What the ledger holds of the records the collectors pushed, counted against what they were told.
package struct LedgerCensus: Sendable {
    /// Records that got a 200.
    package var acknowledged = 0
    /// Acknowledged records found in the ledger with the acknowledged content.
    package var found = 0
    /// Acknowledged records missing from the ledger, or stored with other content.
    package var lost = 0
    /// Rows beyond one per (station, seq), plus rows no collector ever made.
    package var duplicated = 0
    /// Records made by the collectors (acknowledged in the end or not).
    package var generated = 0
    /// Ledger rows of the stations counted.
    package var rows = 0
    /// Stations whose chain is not 1…head without holes, or whose head is not its last row.
    package var brokenChains: [String] = []
    /// Records still unacknowledged when the collectors gave up.
    package var unacknowledged = 0
    /// A few examples of what went wrong, for the report.
    package var examples: [String] = []

    package var isClean: Bool { lost == 0 && duplicated == 0 && brokenChains.isEmpty }

    /// Counts `collectors` against the ledger, and against the months archived under `archive`
    /// (`fuelwarden archive`'s directory: each station's records of a month in one NDJSON file).
    package static func take(_ collectors: [Collector], lines: SyntheticLines, database: FuelDatabase, archive: String? = nil) async throws -> LedgerCensus {
        let logger = database.logger
        let archived = try archive.map { try ArchivedRows.read(root: $0, stations: collectors.map(\.station)) } ?? [:]
        return try await database.connection("ledger census") { conn in
            var c = LedgerCensus()
            for col in collectors {
                c.acknowledged += col.acknowledged.count
                c.generated += Int(col.generated)
                c.unacknowledged += col.unacknowledged.count
                var stored: [Int64: [[UInt8]]] = [:]
                var positions: [Int64] = []
                let fromArchive = archived[col.station] ?? []
                for row in fromArchive where row.source == "push" {
                    stored[row.sourceSeq, default: []].append(row.contentHash)
                    positions.append(row.chainSeq)
                }
                if let problem = ArchivedRows.shapeProblem(fromArchive) {
                    c.brokenChains.append(col.station)
                    c.note("\(col.station): \(problem)")
                }
                for try await (seq, hash, pos) in try await conn.query("""
                    SELECT source_seq, content_hash, chain_seq FROM ledger WHERE station = \(col.station) AND source = 'push' ORDER BY chain_seq
                    """, logger: logger).decode((Int64, ByteBuffer, Int64).self) {
                    stored[seq, default: []].append(Array(buffer: hash))
                    positions.append(pos)
                }
                c.rows += positions.count
                if let broken = try await chainShapeProblem(station: col.station, archived: Int64(fromArchive.count), on: conn, logger: logger) {
                    c.brokenChains.append(col.station)
                    c.note(broken)
                }
                for (seq, hashes) in stored {
                    if hashes.count > 1 { c.duplicated += hashes.count - 1; c.note("\(col.station) seq \(seq): \(hashes.count) rows") }
                    if seq < 1 || seq > col.generated { c.duplicated += 1; c.note("\(col.station) seq \(seq): never made") }
                }
                for (seq, variant) in col.acknowledged {
                    guard let hashes = stored[seq] else {
                        c.lost += 1
                        c.note("\(col.station) seq \(seq): acknowledged, not in the ledger")
                        continue
                    }
                    if hashes.contains(lines.contentHash(station: col.station, seq: seq, variant: variant)) {
                        c.found += 1
                    } else {
                        c.lost += 1
                        c.note("\(col.station) seq \(seq): stored with other content than acknowledged")
                    }
                }
            }
            return c
        }
    }

    /// Adds an HJ 212 device's packets: each packet answered 9014 (data time in `acknowledged`) must
    /// be in `station`'s chain as `readingsPerPacket` records, once.
    package mutating func addHJ212(station: String, acknowledged packets: [Int64], readingsPerPacket: Int, database db: FuelDatabase) async throws {
        let stored = try await db.connection("HJ 212 census") { conn in
            var rows: [Int64: Int] = [:]
            for try await (at, n) in try await conn.query("""
                SELECT extract(epoch FROM at)::bigint, count(*) FROM ledger WHERE station = \(station) AND source = 'hj212' GROUP BY 1
                """, logger: db.logger).decode((Int64, Int64).self) { rows[at] = Int(n) }
            return rows
        }
        acknowledged += packets.count * readingsPerPacket
        for at in packets {
            let n = stored[at] ?? 0
            found += min(n, readingsPerPacket)
            if n < readingsPerPacket { lost += readingsPerPacket - n; note("\(station) HJ 212 packet at \(at): answered 9014, \(n) records stored") }
        }
        for (at, n) in stored where n > readingsPerPacket { duplicated += n - readingsPerPacket; note("\(station) HJ 212 packet at \(at): \(n) records") }
    }

    /// Nil when the station's chain is rows 1…head without holes (the first `archived` of them in
    /// the archive, the rest in the database), else what is wrong with it.
    static func chainShapeProblem(station: String, archived: Int64 = 0, on conn: PostgresConnection, logger: Logger) async throws -> String? {
        guard let row = try await conn.query("""
            SELECT (SELECT count(*) FROM ledger WHERE station = \(station) AND chain_seq > \(archived)),
                   (SELECT count(*) FROM ledger WHERE station = \(station) AND chain_seq <= \(archived)),
                   GREATEST(\(archived), (SELECT COALESCE(max(chain_seq), 0) FROM ledger WHERE station = \(station))),
                   (SELECT head_seq FROM chain_heads WHERE station = \(station))
            """, logger: logger).collect().first else { return "\(station): no chain head" }
        let (live, alsoArchived, top, head) = try row.decode((Int64, Int64, Int64, Int64?).self)
        let count = archived + live
        guard alsoArchived == 0 else { return "\(station): \(alsoArchived) rows archived are still in the database" }
        return count == top && top == head ? nil : "\(station): \(count) rows (\(archived) archived), highest chain seq \(top), head \(head.map(String.init) ?? "none")"
    }

    mutating func note(_ s: String) { if examples.count < 5 { examples.append(s) } }
}
