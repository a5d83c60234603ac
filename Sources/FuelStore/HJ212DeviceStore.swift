import FuelModel
import Foundation
import Logging
import PostgresNIO

/// HJ 212 devices' state and their SM4 keys (`hj212_devices`, `hj212_device_keys`).
public struct HJ212DeviceStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// One device's row; `series` is its per-CN state as JSON (FuelDetect's `DeviceFeedState.Series`).
    public struct Row: Sendable, Hashable {
        public var mn: String
        public var station: String
        public var edition: String
        public var firstSeenAt: Date
        public var lastSeenAt: Date
        public var lastDataAt: Date?
        public var packets: Int64
        public var resent: Int64
        public var series: String

        public init(mn: String, station: String, edition: String, firstSeenAt: Date, lastSeenAt: Date, lastDataAt: Date?,
                    packets: Int64, resent: Int64, series: String) {
            self.mn = mn
            self.station = station
            self.edition = edition
            self.firstSeenAt = firstSeenAt
            self.lastSeenAt = lastSeenAt
            self.lastDataAt = lastDataAt
            self.packets = packets
            self.resent = resent
            self.series = series
        }
    }

    /// A stored key.
    public struct StoredKey: Sendable, Hashable {
        public var mn: String
        public var key: [UInt8]
        public var since: Date
        public var origin: String
        public var pending: Bool
    }

    /// Writes the devices' rows (one statement). Times only move forward, so a row written by an
    /// older view of the device (another daemon, a flush racing a newer one) never moves it back.
    public func save(_ rows: [Row]) async throws {
        guard !rows.isEmpty else { return }
        let logger = database.logger
        let json = String(decoding: try JSONEncoder().encode(rows.map(RowJSON.init)), as: UTF8.self)
        _ = try await database.connection("save HJ 212 devices") { conn in
            try await conn.query("""
                INSERT INTO hj212_devices (mn, station, edition, first_seen_at, last_seen_at, last_data_at, packets, resent, series)
                SELECT r.mn, r.station, r.edition, to_timestamp(r.first), to_timestamp(r.seen), to_timestamp(r.data), r.packets, r.resent, r.series::jsonb
                FROM jsonb_to_recordset(\(json)::jsonb)
                    AS r(mn text, station text, edition text, first float8, seen float8, data float8, packets int8, resent int8, series text)
                ON CONFLICT (mn) DO UPDATE SET
                    station = EXCLUDED.station, edition = EXCLUDED.edition,
                    first_seen_at = least(hj212_devices.first_seen_at, EXCLUDED.first_seen_at),
                    last_seen_at = greatest(hj212_devices.last_seen_at, EXCLUDED.last_seen_at),
                    last_data_at = greatest(hj212_devices.last_data_at, EXCLUDED.last_data_at),
                    packets = greatest(hj212_devices.packets, EXCLUDED.packets),
                    resent = greatest(hj212_devices.resent, EXCLUDED.resent),
                    series = EXCLUDED.series
                """, logger: logger)
        }
    }

    private struct RowJSON: Encodable {
        var mn, station, edition: String
        var first, seen: Double
        var data: Double?
        var packets, resent: Int64
        var series: String
        init(_ r: Row) {
            (mn, station, edition) = (r.mn, r.station, r.edition)
            (first, seen, data) = (r.firstSeenAt.timeIntervalSince1970, r.lastSeenAt.timeIntervalSince1970, r.lastDataAt?.timeIntervalSince1970)
            (packets, resent, series) = (r.packets, r.resent, r.series)
        }
    }

    /// The rows of these devices (all when nil) or of one station.
    public func rows(mns: [String]? = nil, station: String? = nil) async throws -> [Row] {
        let logger = database.logger
        return try await database.connection("read HJ 212 devices") { conn in
            var out: [Row] = []
            for try await (mn, st, edition, first, seen, data, packets, resent, series) in try await conn.query("""
                SELECT mn, station, edition, first_seen_at, last_seen_at, last_data_at, packets, resent, series::text FROM hj212_devices
                WHERE (\(mns == nil) OR mn = ANY(\(mns ?? []))) AND (\(station == nil) OR station = \(station ?? ""))
                ORDER BY mn
                """, logger: logger).decode((String, String, String, Date, Date, Date?, Int64, Int64, String).self) {
                out.append(Row(mn: mn, station: st, edition: edition, firstSeenAt: first, lastSeenAt: seen, lastDataAt: data,
                               packets: packets, resent: resent, series: series))
            }
            return out
        }
    }

    /// Every stored key, oldest first per device.
    public func keys() async throws -> [StoredKey] {
        let logger = database.logger
        return try await database.connection("read HJ 212 keys") { conn in
            var out: [StoredKey] = []
            for try await (mn, key, since, origin, state) in try await conn.query("""
                SELECT mn, key, since, origin, state FROM hj212_device_keys ORDER BY mn, since
                """, logger: logger).decode((String, ByteBuffer, Date, String, String).self) {
                out.append(StoredKey(mn: mn, key: Array(key.readableBytesView), since: since, origin: origin, pending: state == "pending"))
            }
            return out
        }
    }

    /// Records a configured key the first time it is seen (its age counts from then); answers the
    /// time it is recorded with.
    public func noteConfigured(mn: String, key: [UInt8], origin: String) async throws -> Date {
        let logger = database.logger
        return try await database.connection("note HJ 212 key") { conn in
            try await conn.query("""
                INSERT INTO hj212_device_keys (mn, key, since, origin, state) VALUES (\(mn), \(ByteBuffer(bytes: key)), now(), \(origin), 'active')
                ON CONFLICT (mn, key) DO NOTHING
                """, logger: logger)
            return try await conn.query("SELECT since FROM hj212_device_keys WHERE mn = \(mn) AND key = \(ByteBuffer(bytes: key))",
                                        logger: logger).collect().first?.decode(Date.self) ?? Date()
        }
    }

    /// Stores a key a CN 1014 exchange brought: `pending` while the device has not confirmed it,
    /// active (in force from `since`) once it has. Committed before the device is answered.
    public func store(mn: String, key: [UInt8], since: Date, origin: String, pending: Bool) async throws {
        let logger = database.logger
        _ = try await database.connection("store HJ 212 key") { conn in
            try await conn.query("""
                INSERT INTO hj212_device_keys (mn, key, since, origin, state)
                VALUES (\(mn), \(ByteBuffer(bytes: key)), \(since), \(origin), \(pending ? "pending" : "active"))
                ON CONFLICT (mn, key) DO UPDATE SET
                    since = CASE WHEN hj212_device_keys.state = 'pending' THEN EXCLUDED.since ELSE hj212_device_keys.since END,
                    state = CASE WHEN EXCLUDED.state = 'active' THEN 'active' ELSE hj212_device_keys.state END
                """, logger: logger)
        }
    }
}

extension HJ212DeviceStore {
    /// The fingerprints of unresolved alerts on devices (subject `device …`) with their evidence.
    public func openDeviceAlerts() async throws -> [String: String] {
        let logger = database.logger
        return try await database.connection("open device alerts") { conn in
            var out: [String: String] = [:]
            for try await (fp, evidence) in try await conn.query("""
                SELECT fingerprint, evidence::text FROM alerts
                WHERE status <> 'resolved' AND rule IN ('telemetry_gap', 'feed_key') AND subject LIKE 'device %'
                """, logger: logger).decode((String, String).self) { out[fp] = evidence }
            return out
        }
    }

    /// Raises (or updates) and resolves device alerts in one transaction.
    public func apply(raise: [AlertSignal], resolve: [(fingerprint: String, reason: String)]) async throws {
        guard !raise.isEmpty || !resolve.isEmpty else { return }
        let logger = database.logger
        try await database.transaction("device alerts") { tx in
            for s in raise { _ = try await AlertStore.raise(s, on: tx, logger: logger) }
            for r in resolve { _ = try await AlertStore.clear(fingerprint: r.fingerprint, reason: r.reason, on: tx, logger: logger) }
        }
    }
}
