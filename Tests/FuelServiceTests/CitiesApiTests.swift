import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import Foundation
import Testing

/// City coverage and the quarterly report through the real daemon.
@Suite struct CitiesApiTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not an object: \(text)")
    }

    @Test func coverageAndTheQuarterlyReportCountWhatStationsSent() async throws {
        try await TestDaemon.with(stations: 4) { d in
            // Stations 1 and 4 are in 沈阳市 (210100, quota 300); only station 1 reports.
            let s1 = d.registry.stations[0], s4 = d.registry.stations[3]
            #expect(s1.city == "210100" && s4.city == "210100")
            let key = try await d.token(.station, station: s1.id)
            let viewer = try await d.token(.viewer), inspector = try await d.token(.inspector)
            let now = Timestamp(Date()).adding(seconds: -120)
            _ = try await d.client.push(station: s1.id, key: key, lines: [
                #"{"seq":1,"kind":"tank_reading","tank":"T1","at":"\#(now.rfc3339)","volume_l":18000,"tc_volume_l":17950,"temperature_c":12}"#,
                // 300 L in a minute on a 50 L/min nozzle: a critical alert.
                #"{"seq":2,"kind":"sale","nozzle":"N1","grade":"92","volume_l":300,"unit_price":7.5,"amount":2250,"started_at":"\#(now.adding(seconds: -60).rfc3339)","ended_at":"\#(now.rfc3339)"}"#,
            ])
            try await d.detectionCaughtUp()
            let year = LocalClock(timezone: "Asia/Shanghai").day(of: Timestamp(Date())).year
            #expect(try await d.client.send(.POST, "/v1/stations/\(s4.id)/inspection?year=\(year)&verify_chain=false", token: inspector).0 == 201)

            let (status, body) = try await d.client.send(.GET, "/v1/cities/210100/coverage", token: viewer)
            #expect(status == 200, "\(body)")
            let c = try Self.object(body)
            #expect(c["stations_registered"] as? Int == 2 && c["reporting_last_24h"] as? Int == 1 && c["reporting_this_quarter"] as? Int == 1)
            #expect(c["quota"] as? Int == 300 && c["coverage_pct"] as? Double == 0.3)
            #expect((c["open_alerts"] as? [String: Int])?["critical"] == 1)
            let inspections = c["inspections_this_year"] as? [String: Int]
            #expect(inspections?["not_inspected"] == 1 && inspections?.keys.contains { $0 != "not_inspected" } == true)
            let contacts = (c["city"] as? [String: Any])?["contacts"] as? [[String: Any]]
            #expect(contacts?.compactMap { $0["role"] as? String } == ["leader", "responsible", "liaison"])
            #expect(try await d.client.send(.GET, "/v1/cities/999999/coverage", token: viewer).0 == 404)
            #expect(try await d.client.send(.GET, "/v1/cities/210100/coverage", token: key).0 == 403)

            // The quarter this is: every city, its three contacts, what its stations sent and raised.
            let today = LocalClock(timezone: "Asia/Shanghai").day(of: Timestamp(Date()))
            let quarter = (today.month - 1) / 3 + 1
            let (qs, qb) = try await d.client.send(.GET, "/v1/reports/quarterly?year=\(today.year)&quarter=\(quarter)", token: viewer)
            #expect(qs == 200, "\(qb)")
            let report = try Self.object(qb)
            let cities = try #require(report["cities"] as? [[String: Any]])
            #expect(cities.compactMap { $0["code"] as? String } == ["210100", "210200", "210300"])
            let sy = try #require(cities.first)
            #expect(sy["reporting"] as? Int == 1 && sy["registered"] as? Int == 2)
            #expect((sy["alerts_raised"] as? [String: Int])?["critical"] == 1)
            #expect(cities.allSatisfy { ($0["contacts"] as? [[String: Any]])?.count == 3 })
            #expect(cities[1]["reporting"] as? Int == 0 && (cities[1]["alerts_raised"] as? [String: Int])?.isEmpty == true)

            let (cs, csv) = try await d.client.send(.GET, "/v1/reports/quarterly?year=\(today.year)&quarter=\(quarter)&format=csv", token: viewer)
            let lines = csv.split(separator: "\r\n")
            #expect(cs == 200 && lines.count == 4, "\(csv)")
            #expect(lines.first?.hasPrefix("quarter,city,name,quota,registered,reporting") == true)
            #expect(lines[1].hasPrefix("\(today.year)Q\(quarter),210100,沈阳市,300,2,1,") && lines[1].hasSuffix("联络员100,024-40000100"), "\(lines[1])")

            #expect(try await d.client.send(.GET, "/v1/reports/quarterly?year=\(today.year)&quarter=5", token: viewer).0 == 400)
            #expect(try await d.client.send(.GET, "/v1/reports/quarterly?year=\(today.year + 1)&quarter=1", token: viewer).0 == 422)
            #expect(try await d.client.send(.GET, "/v1/reports/quarterly?year=\(today.year)&quarter=1&format=xml", token: viewer).0 == 400)
            #expect(try await d.client.send(.GET, "/v1/reports/quarterly?year=\(today.year)&quarter=1", token: key).0 == 403)
        }
    }
}
