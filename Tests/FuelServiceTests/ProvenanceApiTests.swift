import FuelService
import FuelStore
import FuelTestSupport
import Foundation
import Testing

/// Fuel traceability through the real daemon: a sale's batches, a recall across stations, a late
/// delivery rewriting the mix, and alerts for deliveries from an unlicensed supplier or without a batch.
@Suite struct ProvenanceApiTests {
    static func reading(_ seq: Int, _ at: String, _ litres: Double) -> String {
        #"{"seq":\#(seq),"kind":"tank_reading","tank":"T1","at":"2026-11-01T\#(at):00Z","volume_l":\#(litres),"tc_volume_l":\#(litres),"temperature_c":15}"#
    }
    static func delivery(_ seq: Int, _ start: String, _ end: String, batch: String?, supplier: String, litres: Double, bill: String) -> String {
        let b = batch.map { #""batch":"\#($0)","# } ?? ""
        return #"{"seq":\#(seq),"kind":"delivery","tank":"T1","supplier":"\#(supplier)",\#(b)"bill_no":"\#(bill)","grade":"92","declared_volume_l":\#(litres),"started_at":"2026-11-01T\#(start):00Z","ended_at":"2026-11-01T\#(end):00Z"}"#
    }
    static func sale(_ seq: Int, _ at: String, _ litres: Double, nozzle: String = "N1") -> String {
        #"{"seq":\#(seq),"kind":"sale","nozzle":"\#(nozzle)","grade":"92","volume_l":\#(litres),"unit_price":7.5,"amount":\#(litres * 7.5),"started_at":"2026-11-01T\#(at):00Z","ended_at":"2026-11-01T\#(at):59Z"}"#
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not an object: \(text)")
    }

    static func fractions(_ provenance: [String: Any]) -> [String: Double] {
        var out: [String: Double] = [:]
        for b in provenance["batches"] as? [[String: Any]] ?? [] { out[b["batch"] as? String ?? ""] = b["fraction"] as? Double }
        return out
    }

    @Test func aRecallCrossesStationsAndASaleNamesItsBatches() async throws {
        try await TestDaemon.with(stations: 3) { d in
            let a = d.registry.stations[0].id, b = d.registry.stations[1].id
            let keyA = try await d.token(.station, station: a), keyB = try await d.token(.station, station: b)
            let viewer = try await d.token(.viewer), admin = try await d.token(.admin)
            // SUP-002's licence lapsed before the second delivery.
            #expect(try await d.client.send(.PUT, "/v1/suppliers/SUP-002/licence", token: admin,
                                            body: #"{"number":"LNPF-2023-017","expires":"2026-10-31"}"#).0 == 200)

            // Station A: 10,000 L of unknown origin, 10,000 L of LH-1, a sale, then 20,000 L of LH-2 onto 19,960 L.
            _ = try await d.client.push(station: a, key: keyA, lines: [
                Self.reading(1, "08:00", 10_000),
                Self.delivery(2, "09:00", "09:30", batch: "LH-1", supplier: "SUP-001", litres: 10_000, bill: "BL-1"),
                Self.sale(3, "10:00", 40),
                Self.reading(4, "11:00", 19_960),
                Self.delivery(5, "12:00", "12:40", batch: "LH-2", supplier: "SUP-002", litres: 20_000, bill: "BL-2"),
                Self.sale(6, "13:00", 30),
            ])
            // Station B: an empty tank filled with LH-1, two sales.
            _ = try await d.client.push(station: b, key: keyB, lines: [
                Self.reading(1, "08:00", 0),
                Self.delivery(2, "09:00", "09:20", batch: "LH-1", supplier: "SUP-001", litres: 5_000, bill: "BL-3"),
                Self.sale(3, "10:00", 50, nozzle: "N2"),
                Self.sale(4, "11:00", 20, nozzle: "N3"),  // N3 draws from T2: not from the recalled tank
            ])

            // A's first sale: half unknown, half LH-1; its second: LH-2 20,000 of 39,960 L.
            let (s1, p1) = try await d.client.send(.GET, "/v1/stations/\(a)/records/3/provenance", token: viewer)
            #expect(s1 == 200, "\(p1)")
            let first = try Self.object(p1)
            #expect(Self.fractions(first) == ["unknown": 0.5, "LH-1": 0.5])
            #expect((first["batches"] as? [[String: Any]])?.first { $0["batch"] as? String == "LH-1" }?["litres"] as? Double == 20)
            #expect((first["composition"] as? [String: Any])?["volume_before_l"] as? Double == 10_000)
            let second = Self.fractions(try Self.object(try await d.client.send(.GET, "/v1/stations/\(a)/records/6/provenance", token: viewer).1))
            #expect(abs((second["LH-2"] ?? 0) - 20_000 / 39_960) < 1e-9)
            #expect(abs((second["LH-1"] ?? 0) - 0.5 * 19_960 / 39_960) < 1e-9)
            #expect((try Self.object(try await d.client.send(.GET, "/v1/stations/\(a)/records/6/provenance", token: viewer).1)["batches"]
                     as? [[String: Any]])?.first { $0["batch"] as? String == "LH-2" }?["supplier_name"] as? String != nil)

            // Recall LH-1: both stations, A's tank in two periods, B's in one; only sales from the tank's nozzles count.
            let (ts, tb) = try await d.client.send(.GET, "/v1/batches/LH-1/trace", token: viewer)
            #expect(ts == 200, "\(tb)")
            let trace = try Self.object(tb)
            #expect(trace["stations"] as? [String] == [a, b].sorted())
            #expect(trace["delivered_l"] as? Double == 15_000)
            let periods = try #require(trace["periods"] as? [[String: Any]])
            // Periods in station order: A's two and B's one.
            let order = a < b ? [a, a, b] : [b, a, a]
            #expect(periods.map { "\($0["station"]!)/\($0["tank"]!)/\($0["sales"]!)" } == order.map { "\($0)/T1/1" })
            let ofA = periods.filter { $0["station"] as? String == a }, ofB = periods.filter { $0["station"] as? String == b }
            let expected = 40 * 0.5 + 30 * (0.5 * 19_960 / 39_960) + 50
            #expect(abs((trace["batch_l_sold"] as? Double ?? 0) - expected) < 1e-6)
            #expect(ofA.first?["to"] as? String == "2026-11-01T12:00:00Z" && ofA.last?["to"] == nil && ofB.first?["fraction"] as? Double == 1)
            #expect(try await d.client.send(.GET, "/v1/batches/NOPE/trace", token: viewer).0 == 404)
            #expect(try await d.client.send(.GET, "/v1/batches/LH-1/trace", token: keyA).0 == 403)

            // A delivery that arrives late (its time before B's LH-1) rewrites B's mix from then on.
            _ = try await d.client.push(station: b, key: keyB, lines: [
                Self.reading(5, "08:30", 0),
                Self.delivery(6, "08:40", "08:50", batch: nil, supplier: "SUP-001", litres: 5_000, bill: "BL-4"),
                Self.reading(7, "08:55", 5_000),
            ])
            let late = Self.fractions(try Self.object(try await d.client.send(.GET, "/v1/stations/\(b)/records/3/provenance", token: viewer).1))
            #expect(late == ["no-batch:BL-4": 0.5, "LH-1": 0.5], "\(late)")

            // Errors name what is wrong; a station key reads only its own station.
            // A reading has no provenance: not found, saying why.
            let reading = try await d.client.send(.GET, "/v1/stations/\(a)/records/1/provenance", token: viewer)
            #expect(reading.0 == 404 && reading.1.contains("sales and deliveries only"), "\(reading)")
            #expect(try await d.client.send(.GET, "/v1/stations/\(a)/records/99/provenance", token: viewer).0 == 404)
            #expect(try await d.client.send(.GET, "/v1/stations/\(a)/records/x/provenance", token: viewer).0 == 400)
            #expect(try await d.client.send(.GET, "/v1/stations/\(a)/records/3/provenance", token: keyB).0 == 403)
            #expect(try await d.client.send(.GET, "/v1/stations/\(a)/records/3/provenance", token: keyA).0 == 200)

            // The lapsed licence and the missing batch are delivery alerts.
            try await d.detectionCaughtUp()
            let alerts = try Self.object(try await d.client.send(.GET, "/v1/alerts?rule=delivery_mismatch&status=all", token: viewer).1)
            let list = alerts["alerts"] as? [[String: Any]] ?? []
            let supplierAlerts = list.filter { $0["subject"] as? String == "T1:supplier" }
            #expect(supplierAlerts.contains { $0["station"] as? String == a && "\($0["evidence"] ?? "")".contains("expired on 2026-10-31") }, "\(list)")
            #expect(supplierAlerts.contains { $0["station"] as? String == b && "\($0["evidence"] ?? "")".contains("no batch") }, "\(list)")
        }
    }
}
