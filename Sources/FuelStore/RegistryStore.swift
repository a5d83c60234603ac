import FuelLedger
import FuelModel
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The registry (cities, suppliers, stations with tanks and nozzles, price ceilings) in PostgreSQL.
public struct RegistryStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    public struct ImportSummary: Sendable, Hashable, CustomStringConvertible {
        public var cities = 0, suppliers = 0, stations = 0, tanks = 0, nozzles = 0, priceCeilings = 0, hazards = 0, cases = 0
        public var description: String {
            "\(cities) cities, \(suppliers) suppliers, \(stations) stations (\(tanks) tanks, \(nozzles) nozzles, \(hazards) hazards, \(cases) cases), \(priceCeilings) price ceilings"
        }
    }

    static func upsert(_ h: SafetyHazard, station: String, on tx: PostgresConnection, logger: Logger) async throws {
        try await tx.query("""
            INSERT INTO safety_hazards (station, id, description, opened, remedied)
            VALUES (\(station), \(h.id), \(h.description), \(h.opened.description)::date, \(h.remedied?.description)::date)
            ON CONFLICT (station, id) DO UPDATE SET description = EXCLUDED.description, opened = EXCLUDED.opened, remedied = EXCLUDED.remedied
            """, logger: logger)
    }

    static func upsert(_ c: ViolationCase, station: String, on tx: PostgresConnection, logger: Logger) async throws {
        try await tx.query("""
            INSERT INTO violation_cases (station, id, description, serious, opened, closed)
            VALUES (\(station), \(c.id), \(c.description), \(c.serious), \(c.opened.description)::date, \(c.closed?.description)::date)
            ON CONFLICT (station, id) DO UPDATE SET description = EXCLUDED.description, serious = EXCLUDED.serious,
                opened = EXCLUDED.opened, closed = EXCLUDED.closed
            """, logger: logger)
    }

    static func json<T: Encodable>(_ v: T) throws -> String {
        String(decoding: try AlertStore.encoder.encode(v), as: UTF8.self)
    }

    /// Imports (upserts) a registry in one transaction; a station's tanks and nozzles are replaced
    /// by the file's. Every station gets a chain head. The import is recorded in the audit chain
    /// with the SHA-256 of the source text.
    public func importRegistry(_ r: Registry, sourceDigest: String, actor: String) async throws -> ImportSummary {
        let logger = database.logger
        return try await database.transaction("import registry") { tx in
            var s = ImportSummary()
            for c in r.cities {
                try await tx.query("""
                    INSERT INTO cities (code, name, quota, contacts) VALUES (\(c.code), \(c.name), \(c.quota), \(try Self.json(c.contacts))::jsonb)
                    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, quota = EXCLUDED.quota, contacts = EXCLUDED.contacts
                    """, logger: logger)
                s.cities += 1
            }
            for sup in r.suppliers {
                let licence = try sup.licence.map { try Self.json($0) }
                try await tx.query("""
                    INSERT INTO suppliers (id, name, licence) VALUES (\(sup.id), \(sup.name), \(licence)::jsonb)
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, licence = EXCLUDED.licence
                    """, logger: logger)
                s.suppliers += 1
            }
            let genesis = ByteBuffer(bytes: HashChain.genesis)
            for st in r.stations {
                try await tx.query("""
                    INSERT INTO stations (id, name, city, address, hours, timezone, status, licences, approvals, updated_at)
                    VALUES (\(st.id), \(st.name), \(st.city), \(st.address), \(st.hours.description), \(st.timezone),
                            \(st.status.rawValue), \(try Self.json(st.licences))::jsonb, \(try Self.json(st.approvals))::jsonb, now())
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, city = EXCLUDED.city, address = EXCLUDED.address,
                        hours = EXCLUDED.hours, timezone = EXCLUDED.timezone, status = EXCLUDED.status,
                        licences = EXCLUDED.licences, approvals = EXCLUDED.approvals, updated_at = now()
                    """, logger: logger)
                try await tx.query("DELETE FROM nozzles WHERE station = \(st.id)", logger: logger)
                try await tx.query("DELETE FROM tanks WHERE station = \(st.id)", logger: logger)
                if !st.tanks.isEmpty {
                    try await tx.query("""
                        INSERT INTO tanks (station, id, grade, capacity_l)
                        SELECT \(st.id), * FROM UNNEST(\(st.tanks.map(\.id))::text[], \(st.tanks.map(\.grade))::text[], \(st.tanks.map(\.capacityL))::float8[])
                        """, logger: logger)
                }
                if !st.nozzles.isEmpty {
                    try await tx.query("""
                        INSERT INTO nozzles (station, id, tank, max_flow_lpm)
                        SELECT \(st.id), * FROM UNNEST(\(st.nozzles.map(\.id))::text[], \(st.nozzles.map(\.tank))::text[], \(st.nozzles.map(\.maxFlowLPM))::float8[])
                        """, logger: logger)
                }
                try await tx.query(
                    "INSERT INTO chain_heads (station, head_seq, head_hash) VALUES (\(st.id), 0, \(genesis)) ON CONFLICT (station) DO NOTHING",
                    logger: logger)
                // Hazards and cases are upserted, never dropped: entries made through the API survive a
                // re-import of a file that does not list them.
                for h in st.hazards { try await Self.upsert(h, station: st.id, on: tx, logger: logger) }
                for c in st.cases { try await Self.upsert(c, station: st.id, on: tx, logger: logger) }
                s.hazards += st.hazards.count
                s.cases += st.cases.count
                s.stations += 1
                s.tanks += st.tanks.count
                s.nozzles += st.nozzles.count
            }
            for p in r.priceCeilings {
                try await tx.query("""
                    INSERT INTO price_ceilings (region, grade, unit_price, valid_from) VALUES (\(p.region), \(p.grade), \(p.unitPrice), \(p.from.startUTC.date)::date)
                    ON CONFLICT (region, grade, valid_from) DO UPDATE SET unit_price = EXCLUDED.unit_price
                    """, logger: logger)
                s.priceCeilings += 1
            }
            try await AuditLog.append(
                actor: actor, action: "registry.import",
                fields: [("sha256", .string(sourceDigest)), ("summary", .string(s.description))], on: tx, logger: logger)
            return s
        }
    }

    /// Reads the whole registry.
    public func load() async throws -> Registry {
        let logger = database.logger
        return try await database.connection("load registry") { conn in
            let dec = JSONDecoder()
            var r = Registry()
            for try await (code, name, quota, contacts) in try await conn.query(
                "SELECT code, name, quota, contacts::text FROM cities ORDER BY code", logger: logger
            ).decode((String, String, Int?, String).self) {
                r.cities.append(City(code: code, name: name, quota: quota, contacts: try dec.decode([Contact].self, from: Data(contacts.utf8))))
            }
            for try await (id, name, licence) in try await conn.query(
                "SELECT id, name, licence::text FROM suppliers ORDER BY id", logger: logger
            ).decode((String, String, String?).self) {
                r.suppliers.append(Supplier(id: id, name: name, licence: try licence.map { try dec.decode(Licence.self, from: Data($0.utf8)) }))
            }
            var tanks: [String: [Tank]] = [:], nozzles: [String: [Nozzle]] = [:]
            for try await (st, id, grade, cap) in try await conn.query(
                "SELECT station, id, grade, capacity_l FROM tanks ORDER BY station, id", logger: logger
            ).decode((String, String, String, Double).self) { tanks[st, default: []].append(Tank(id: id, grade: grade, capacityL: cap)) }
            for try await (st, id, tank, flow) in try await conn.query(
                "SELECT station, id, tank, max_flow_lpm FROM nozzles ORDER BY station, id", logger: logger
            ).decode((String, String, String, Double).self) { nozzles[st, default: []].append(Nozzle(id: id, tank: tank, maxFlowLPM: flow)) }
            var hazards: [String: [SafetyHazard]] = [:], cases: [String: [ViolationCase]] = [:]
            for try await (st, id, text, opened, remedied) in try await conn.query(
                "SELECT station, id, description, to_char(opened, 'YYYY-MM-DD'), to_char(remedied, 'YYYY-MM-DD') FROM safety_hazards ORDER BY station, opened, id",
                logger: logger
            ).decode((String, String, String, String, String?).self) {
                guard let o = CivilDate(iso: opened) else { continue }
                hazards[st, default: []].append(SafetyHazard(id: id, description: text, opened: o, remedied: remedied.flatMap(CivilDate.init(iso:))))
            }
            for try await (st, id, text, serious, opened, closed) in try await conn.query(
                "SELECT station, id, description, serious, to_char(opened, 'YYYY-MM-DD'), to_char(closed, 'YYYY-MM-DD') FROM violation_cases ORDER BY station, opened, id",
                logger: logger
            ).decode((String, String, String, Bool, String, String?).self) {
                guard let o = CivilDate(iso: opened) else { continue }
                cases[st, default: []].append(ViolationCase(
                    id: id, description: text, serious: serious, opened: o, closed: closed.flatMap(CivilDate.init(iso:))))
            }
            let rows = try await conn.query("""
                SELECT id, name, city, address, hours, timezone, status, licences::text, approvals::text FROM stations ORDER BY id
                """, logger: logger)
            for try await row in rows {
                let (id, name, city, address, hours, tz, status, licences, approvals) =
                    try row.decode((String, String, String, String?, String, String, String, String, String).self)
                r.stations.append(Station(
                    id: id, name: name, city: city, address: address, hours: OpeningHours(hours) ?? .allDay, timezone: tz,
                    status: StationStatus(rawValue: status) ?? .active,
                    licences: try dec.decode([String: Licence].self, from: Data(licences.utf8)),
                    approvals: try dec.decode([String: Bool].self, from: Data(approvals.utf8)),
                    tanks: tanks[id] ?? [], nozzles: nozzles[id] ?? [], hazards: hazards[id] ?? [], cases: cases[id] ?? []))
            }
            for try await (region, grade, price, from) in try await conn.query(
                "SELECT region, grade, unit_price, to_char(valid_from, 'YYYY-MM-DD') FROM price_ceilings ORDER BY region, grade, valid_from",
                logger: logger
            ).decode((String, String, Double, String).self) {
                if let d = CivilDate(iso: from) { r.priceCeilings.append(PriceCeiling(region: region, grade: grade, unitPrice: price, from: d)) }
            }
            return r
        }
    }
}

/// A station's chain head and data times (`GET /v1/stations/{id}`).
public struct ChainHead: Sendable, Hashable {
    public var station: String
    public var headSeq: Int64
    public var headHash: [UInt8]
    public var lastRecordAt: Date?
    public var lastReceivedAt: Date?
    /// Latest data time per record kind.
    public var lastByKind: [String: Date]
    /// The station's highest pushed `seq` (0 before its first push): a new station agent numbers on from it.
    public var lastPushSeq: Int64 = 0
}

extension RegistryStore {
    public func chainHead(station: String) async throws -> ChainHead? {
        let logger = database.logger
        return try await database.connection("chain head") { conn in
            guard let row = try await conn.query(
                "SELECT head_seq, head_hash, last_record_at, last_received_at FROM chain_heads WHERE station = \(station)", logger: logger
            ).collect().first else { return nil }
            let (seq, hash, lastAt, lastRx) = try row.decode((Int64, ByteBuffer, Date?, Date?).self)
            var byKind: [String: Date] = [:]
            for kind in RecordKind.allCases {
                // One index probe per kind: cheaper than grouping the station's whole history.
                if let at = try await conn.query(
                    "SELECT max(at) FROM ledger WHERE station = \(station) AND kind = \(kind.rawValue)", logger: logger
                ).collect().first?.decode(Date?.self) { byKind[kind.rawValue] = at }
            }
            let pushSeq = try await conn.query(
                "SELECT coalesce(max(source_seq), 0) FROM ledger WHERE station = \(station) AND source = 'push'", logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
            return ChainHead(station: station, headSeq: seq, headHash: Array(buffer: hash), lastRecordAt: lastAt,
                             lastReceivedAt: lastRx, lastByKind: byKind, lastPushSeq: pushSeq)
        }
    }
}
