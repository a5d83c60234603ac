import FuelDetect
import Foundation
import Logging
import PostgresNIO

/// Stations with committed records the detectors have not seen yet.
public struct DetectionBacklog: Sendable, Hashable {
    public var station: String
    public var cursor: Int64
    public var headSeq: Int64
}

/// Detector state and alert writes, committed together so a restart resumes exactly where the
/// last commit left off.
public struct DetectionStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    public func backlog(limit: Int = 500) async throws -> [DetectionBacklog] {
        let logger = database.logger
        return try await database.connection("detection backlog") { conn in
            var out: [DetectionBacklog] = []
            for try await (st, cursor, head) in try await conn.query("""
                SELECT h.station, COALESCE(d.cursor, 0), h.head_seq FROM chain_heads h
                LEFT JOIN detector_state d ON d.station = h.station
                WHERE h.head_seq > COALESCE(d.cursor, 0) ORDER BY h.last_received_at NULLS LAST LIMIT \(limit)
                """, logger: logger).decode((String, Int64, Int64).self) {
                out.append(DetectionBacklog(station: st, cursor: cursor, headSeq: head))
            }
            return out
        }
    }

    public func loadState(station: String) async throws -> StationDetector? {
        let logger = database.logger
        return try await database.connection("load detector") { conn in
            guard let text = try await conn.query("SELECT state::text FROM detector_state WHERE station = \(station)", logger: logger)
                .collect().first?.decode(String.self) else { return nil }
            return try? JSONDecoder().decode(StationDetector.self, from: Data(text.utf8))
        }
    }

    /// What a commit did to alerts.
    public struct Applied: Sendable {
        public var raisedNew: [(id: Int64, signal: AlertSignal)] = []
        public var updated = 0
        public var cleared = 0
    }

    /// Writes the detector's state and the alert events it produced in one transaction. When the
    /// stored cursor is no longer `previousCursor` another replica got there first: nothing is
    /// written and ``StoreError/conflict(_:)`` is thrown.
    public func commit(_ detector: StationDetector, previousCursor: Int64, events: [DetectorEvent]) async throws -> Applied {
        let logger = database.logger
        let state = String(decoding: try JSONEncoder().encode(detector), as: UTF8.self)
        return try await database.transaction("commit detection") { tx in
            let stored = try await tx.query(
                "SELECT cursor FROM detector_state WHERE station = \(detector.station) FOR UPDATE", logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
            guard stored == previousCursor else {
                throw StoreError.conflict("detector of \(detector.station) moved from \(previousCursor) to \(stored) elsewhere")
            }
            var applied = Applied()
            for e in events {
                switch e {
                case .raise(let s):
                    let (id, isNew) = try await AlertStore.raise(s, on: tx, logger: logger)
                    if isNew { applied.raisedNew.append((id, s)) } else { applied.updated += 1 }
                case .clear(let fp, _, let reason):
                    if try await AlertStore.clear(fingerprint: fp, reason: reason, on: tx, logger: logger) != nil { applied.cleared += 1 }
                }
            }
            try await tx.query("""
                INSERT INTO detector_state (station, cursor, state, updated_at) VALUES (\(detector.station), \(detector.cursor), \(state)::jsonb, now())
                ON CONFLICT (station) DO UPDATE SET cursor = EXCLUDED.cursor, state = EXCLUDED.state, updated_at = now()
                """, logger: logger)
            return applied
        }
    }
}
