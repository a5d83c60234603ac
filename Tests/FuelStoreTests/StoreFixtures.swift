import FuelModel
import FuelStore
import Foundation

enum Fixtures {
    static let registry = Registry(
        cities: [City(code: "210100", name: "沈阳市", quota: 10, contacts: [Contact(role: .leader, name: "张三")])],
        suppliers: [Supplier(id: "SUP-001", name: "批发", licence: Licence(number: "L1", expires: CivilDate(year: 2027, month: 12, day: 31)))],
        stations: ["S1", "S2"].map {
            Station(id: $0, name: "站\($0)", city: "210100", hours: OpeningHours("06:00-22:00")!,
                    licences: ["business": Licence(number: "B-\($0)", expires: CivilDate(year: 2028, month: 1, day: 1))],
                    approvals: ["environmental": true, "planning": true],
                    tanks: [Tank(id: "T1", grade: "92", capacityL: 30000)], nozzles: [Nozzle(id: "N1", tank: "T1", maxFlowLPM: 50)])
        },
        priceCeilings: [PriceCeiling(region: "210000", grade: "92", unitPrice: 8.05, from: CivilDate(year: 2026, month: 11, day: 1))])

    static let t0 = Timestamp(rfc3339: "2026-11-01T08:00:00Z")!

    static func reading(_ seq: Int64, volume: Double = 18_000) -> IncomingRecord {
        let r = Record.tankReading(TankReading(tank: "T1", at: t0.adding(seconds: Double(seq) * 60), volumeL: volume, tcVolumeL: volume))
        return IncomingRecord(line: Int(seq), raw: "reading \(seq)", source: .push, sourceSeq: seq, record: r)
    }

    static func importRegistry(_ db: FuelDatabase) async throws {
        _ = try await RegistryStore(database: db).importRegistry(registry, sourceDigest: "test", actor: "test")
    }
}

/// The least a detector state has: its station and how far it has read. The store keeps any
/// Codable state as JSON; the store tests need no real detectors.
struct DetectorCursor: Codable, Sendable {
    var station: String
    var cursor: Int64 = 0
    mutating func skip(to seq: Int64) { cursor = max(cursor, seq) }
}
