import FuelModel
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

    /// A station's stored detector state, as the store found it.
    public enum StoredState<State: Sendable>: Sendable {
        /// The station has no stored state yet.
        case none
        case state(State)
        /// The stored state no longer decodes (its format changed); the caller starts afresh from
        /// the stored cursor and should say so.
        case undecodable(reason: String)
    }

    /// The station's detector state, decoded as `State` (the store keeps it as JSON text and does
    /// not know the detectors' types).
    public func loadState<State: Decodable & Sendable>(_ type: State.Type, station: String) async throws -> StoredState<State> {
        let logger = database.logger
        return try await database.connection("load detector") { conn in
            guard let text = try await conn.query("SELECT state FROM detector_state WHERE station = \(station)", logger: logger)
                .collect().first?.decode(String.self) else { return .none }
            do {
                return .state(try JSONDecoder().decode(State.self, from: Data(text.utf8)))
            } catch {
                return .undecodable(reason: "\(error)")
            }
        }
    }

    /// What a commit did to alerts.
    public struct Applied: Sendable {
        public var raisedNew: [(id: Int64, signal: AlertSignal)] = []
        public var updated = 0
        public var cleared = 0
    }

    /// Writes the detector's state (as JSON, by `encoder`) and the alert events it produced in one
    /// transaction. When the stored cursor is no longer `previousCursor` another replica got there
    /// first: nothing is written and ``StoreError/conflict(_:)`` is thrown.
    public func commit<State: Encodable>(
        _ detector: State, station: String, cursor: Int64, previousCursor: Int64, events: [DetectorEvent],
        encoder: JSONEncoder = JSONEncoder()
    ) async throws -> Applied {
        let logger = database.logger
        let state = String(decoding: try encoder.encode(detector), as: UTF8.self)
        return try await database.transaction("commit detection") { tx in
            let stored = try await tx.query(
                "SELECT cursor FROM detector_state WHERE station = \(station) FOR UPDATE", logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
            guard stored == previousCursor else {
                throw StoreError.conflict("detector of \(station) moved from \(previousCursor) to \(stored) elsewhere")
            }
            var applied = Applied()
            for e in events {
                switch e {
                case .raise(let s):
                    let (id, isNew) = try await AlertStore.raise(s, on: tx, logger: logger)
                    if isNew { applied.raisedNew.append((id, s)) } else { applied.updated += 1 }
                case .clear(let fp, _, let reason):
                    if try await AlertStore.clear(fingerprint: fp, reason: reason, on: tx, logger: logger) != nil { applied.cleared += 1 }
                case .measured:
                    break  // written below, set-wise
                }
            }
            try await Self.write(figures: events.compactMap { if case .measured(let f) = $0 { f } else { nil } },
                                 station: station, on: tx, logger: logger)
            try await tx.query("""
                INSERT INTO detector_state (station, cursor, state, updated_at) VALUES (\(station), \(cursor), \(state), now())
                ON CONFLICT (station) DO UPDATE SET cursor = EXCLUDED.cursor, state = EXCLUDED.state, updated_at = now()
                """, logger: logger)
            return applied
        }
    }

    /// Upserts the figures of a commit in one statement, the last of each (kind, subject, day) winning
    /// (a meter is re-judged through the day; a replay after a restart writes the same figures again).
    static func write(figures: [DailyFigure], station: String, on tx: PostgresConnection, logger: Logger) async throws {
        guard !figures.isEmpty else { return }
        var latest: [String: DailyFigure] = [:]
        for f in figures { latest["\(f.kind.rawValue)\u{1F}\(f.subject)\u{1F}\(f.day.daysSinceEpoch)"] = f }
        let rows = Array(latest.values)
        // Optional figures travel as NaN (arrays of optionals are not bound portably) and land as NULL.
        func column(_ key: KeyPath<DailyFigure, Double?>) -> [Double] { rows.map { $0[keyPath: key] ?? .nan } }
        try await tx.query("""
            INSERT INTO daily_figures (station, kind, subject, day, at, value, low, high, band_low, band_high, method)
            SELECT \(station), k, s, DATE '1970-01-01' + d::int, to_timestamp(a), v, NULLIF(lo, 'NaN'), NULLIF(hi, 'NaN'),
                   NULLIF(bl, 'NaN'), NULLIF(bh, 'NaN'), NULLIF(m, '')
            FROM UNNEST(\(rows.map(\.kind.rawValue))::text[], \(rows.map(\.subject))::text[], \(rows.map(\.day.daysSinceEpoch))::bigint[],
                        \(rows.map { $0.at.date.timeIntervalSince1970 })::float8[], \(rows.map(\.value))::float8[],
                        \(column(\.low))::float8[], \(column(\.high))::float8[], \(column(\.bandLow))::float8[], \(column(\.bandHigh))::float8[],
                        \(rows.map { $0.method ?? "" })::text[]) AS u(k, s, d, a, v, lo, hi, bl, bh, m)
            ON CONFLICT (station, kind, subject, day) DO UPDATE SET at = EXCLUDED.at, value = EXCLUDED.value, low = EXCLUDED.low,
                high = EXCLUDED.high, band_low = EXCLUDED.band_low, band_high = EXCLUDED.band_high, method = EXCLUDED.method
            """, logger: logger)
    }

    /// A station's figures of `kind` for days in [from, through], by subject then day.
    public func figures(station: String, kind: FigureKind, from: CivilDate, through: CivilDate) async throws -> [DailyFigure] {
        let logger = database.logger
        return try await database.connection("daily figures") { conn in
            var out: [DailyFigure] = []
            for try await (subject, day, at, value, low, high, bandLow, bandHigh, method) in try await conn.query("""
                SELECT subject, (day - DATE '1970-01-01')::int8, extract(epoch FROM at)::float8, value, low, high, band_low, band_high, method
                FROM daily_figures
                WHERE station = \(station) AND kind = \(kind.rawValue)
                  AND day BETWEEN DATE '1970-01-01' + \(from.daysSinceEpoch)::int AND DATE '1970-01-01' + \(through.daysSinceEpoch)::int
                ORDER BY subject, day
                """, logger: logger).decode((String, Int64, Double, Double, Double?, Double?, Double?, Double?, String?).self) {
                out.append(DailyFigure(kind: kind, subject: subject, day: CivilDate(daysSinceEpoch: day),
                                       at: Timestamp(Date(timeIntervalSince1970: at)), value: value, low: low, high: high,
                                       bandLow: bandLow, bandHigh: bandHigh, method: method))
            }
            return out
        }
    }

    /// Wall-clock staleness: stations that have pushed before but nothing for `seconds` get a
    /// `telemetry_gap` alert on subject `feed`; stations whose feed is back get theirs resolved.
    /// Returns how many alerts were raised (new or updated) and resolved.
    public func sweepStaleFeeds(after seconds: Double) async throws -> (raised: [(id: Int64, signal: AlertSignal, isNew: Bool)], cleared: Int) {
        let logger = database.logger
        return try await database.transaction("sweep stale feeds") { tx in
            var stale: [(String, Date)] = []
            for try await (station, last) in try await tx.query("""
                SELECT h.station, h.last_received_at FROM chain_heads h JOIN stations s ON s.id = h.station
                WHERE s.status = 'active' AND h.last_received_at < now() - make_interval(secs => \(seconds))
                  AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.rule = 'telemetry_gap' AND a.station = h.station
                                  AND a.subject = 'feed' AND a.status <> 'resolved')
                """, logger: logger).decode((String, Date).self) { stale.append((station, last)) }
            var raised: [(Int64, AlertSignal, Bool)] = []
            let now = Date()
            for (station, last) in stale {
                let signal = AlertSignal(
                    rule: .telemetryGap, station: station, subject: "feed", severity: .warning, openedAt: Timestamp(now),
                    evidence: ["last_received_at": .text(Timestamp(last).rfc3339),
                               "silent_minutes": .number(now.timeIntervalSince(last) / 60)],
                    seqFrom: 0, seqTo: 0)
                let (id, isNew) = try await AlertStore.raise(signal, on: tx, logger: logger)
                raised.append((id, signal, isNew))
            }
            let cleared = try await tx.query("""
                UPDATE alerts a SET status = 'resolved', resolved_at = now(), resolved_by = 'fuelwarden (condition cleared)',
                    resolution_note = 'records are arriving again', updated_at = now()
                FROM chain_heads h
                WHERE a.rule = 'telemetry_gap' AND a.subject = 'feed' AND a.status <> 'resolved' AND h.station = a.station
                  AND h.last_received_at >= now() - make_interval(secs => \(seconds))
                RETURNING a.id
                """, logger: logger).collect().count
            return (raised, cleared)
        }
    }
}
