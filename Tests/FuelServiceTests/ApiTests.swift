import Crypto
import FuelDetect
import FuelModel
import FuelService
import FuelSim
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import PostgresNIO
import Testing

@Suite struct ApiTests {
    static let line = #"{"seq":1,"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:00:00Z","volume_l":18234.5,"tc_volume_l":18190.2,"temperature_c":14.2}"#

    @Test func pushAuthorisation() async throws {
        try await TestDaemon.with { d in
            let s1 = d.registry.stations[0].id, s2 = d.registry.stations[1].id
            let key1 = try await d.token(.station, station: s1)
            let viewer = try await d.token(.viewer)
            let path = "/v1/stations/\(s2)/records"
            #expect(try await d.client.send(.POST, path, token: nil, body: Self.line).0 == 401)
            #expect(try await d.client.send(.POST, path, token: "fw_nonsense", body: Self.line).0 == 401)
            let (status, body) = try await d.client.send(.POST, path, token: key1, body: Self.line)
            #expect(status == 403 && body.contains("belongs to station \(s1)"))
            #expect(try await d.client.send(.POST, path, token: viewer, body: Self.line).0 == 403)
            #expect(try await d.client.send(.GET, "/v1/alerts", token: key1).0 == 403)
            #expect(try await d.client.send(.GET, "/v1/alerts", token: nil).0 == 401)
            #expect(try await d.client.send(.POST, "/v1/stations/NOPE/records", token: key1, body: Self.line).0 == 403)
        }
    }

    @Test func pushVerdictsDuplicatesRejectionsAndQuarantine() async throws {
        try await TestDaemon.with { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let lines = [
                Self.line,
                #"{"seq":2,"kind":"sale","nozzle":"N1","grade":"92","volume_l":35.20,"unit_price":7.85,"amount":276.32,"started_at":"2026-11-01T08:00:05Z","ended_at":"2026-11-01T08:01:02Z"}"#,
                #"{"seq":3,"kind":"delivery","tank":"T9","supplier":"SUP-001","batch":"B","bill_no":"BL-1","grade":"92","declared_volume_l":20000,"started_at":"2026-11-01T09:10:00Z","ended_at":"2026-11-01T09:40:00Z"}"#,
                #"{"seq":4,"kind":"sale","nozzle":"N1""#,
            ]
            let v = try await d.client.push(station: s, key: key, lines: lines)
            #expect(v.accepted == 2 && v.duplicates == 0)
            #expect(v.rejected.map(\.line) == [3, 4])
            #expect(v.rejected[0] == PushVerdict.Rejection(line: 3, seq: 3, error: "delivery.tank: unknown tank T9"))
            #expect(v.rejected[1].error.hasPrefix("line: invalid JSON"))
            let again = try await d.client.push(station: s, key: key, lines: Array(lines.prefix(2)))
            #expect(again.accepted == 0 && again.duplicates == 2)
            let raw = try await d.db.client.query("SELECT line, raw, reason FROM quarantine WHERE station = \(s) ORDER BY id")
                .collect().map { try $0.decode((Int, String, String).self) }
            #expect(raw.map(\.0) == [3, 4] && raw[0].1 == lines[2] && raw[0].2 == "delivery.tank: unknown tank T9")
        }
    }

    @Test func bodyLimitsAnswer413() async throws {
        try await TestDaemon.with { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let big = Array(repeating: Self.line, count: 600).joined(separator: "\n")  // > 64 KiB test limit
            let (status, body) = try await d.client.send(.POST, "/v1/stations/\(s)/records", token: key, body: big)
            #expect(status == 413 && body.contains("limit"))
            // The refused body is kept in quarantine (its first 4 KiB) with the reason.
            let kept = try await d.db.client.query("SELECT raw, reason FROM quarantine WHERE station = \(s)").collect()
            #expect(kept.count == 1)
            if let row = kept.first {
                let (raw, reason) = try row.decode((String, String).self)
                #expect(raw.hasPrefix(Self.line.prefix(40)) && raw.contains("first 4 KiB kept") && reason.contains("over the limit"))
            }
            #expect(try await d.client.send(.POST, "/v1/stations/\(s)/records", token: key, body: "\n").0 == 400)
        }
    }

    @Test func detectionRaisesAlertsThatRegulatorsHandle() async throws {
        try await TestDaemon.with { d in
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            let viewer = try await d.token(.viewer)
            let inspector = try await d.token(.inspector)
            let start = Timestamp(rfc3339: "2026-11-01T00:00:00+08:00")!
            var sim = StationSimulator(StationScenario(
                station: station, seed: 7, start: start, days: 1, prices: DemoRegistry.prices,
                faults: [.undeclaredDelivery(tank: "T3", litres: 600, at: start.adding(seconds: 8 * 3600)),
                         .priceAboveCeiling(grade: "92", unitPrice: 8.5, from: start.adding(seconds: 9 * 3600), until: start.adding(seconds: 10 * 3600))]))
            let lines = sim.records().enumerated().map { PushRecordCodec.encode(PushLine(seq: Int64($0.offset + 1), record: $0.element)) }
            for chunk in stride(from: 0, to: lines.count, by: 200) {
                let v = try await d.client.push(station: station.id, key: key, lines: Array(lines[chunk..<min(chunk + 200, lines.count)]))
                #expect(v.rejected.isEmpty)
            }
            try await d.detectionCaughtUp()

            let (status, body) = try await d.client.send(.GET, "/v1/alerts?status=all&station=\(station.id)", token: viewer)
            #expect(status == 200)
            guard case .array(let alerts)? = try d.json(body)["alerts"] else { Issue.record("no alerts array: \(body)"); return }
            let rules = alerts.compactMap { a -> String? in
                guard case .object(let o) = a, case .string(let r)? = o["rule"] else { return nil }
                return r
            }
            #expect(Set(rules) == ["undeclared_delivery", "price_above_ceiling"])
            guard case .object(let undeclared)? = alerts.first(where: { if case .object(let o) = $0 { o["rule"] == .string("undeclared_delivery") } else { false } }),
                  case .number(let id, _)? = undeclared["id"] else { Issue.record("no undeclared alert"); return }
            #expect(undeclared["subject"] == .string("T3") && undeclared["severity"] == .string("critical"))
            // The price alert cleared by itself when prices came back under the ceiling.
            guard case .object(let price)? = alerts.first(where: { if case .object(let o) = $0 { o["rule"] == .string("price_above_ceiling") } else { false } })
            else { Issue.record("no price alert"); return }
            #expect(price["status"] == .string("resolved"))

            let ackPath = "/v1/alerts/\(Int(id))/ack"
            #expect(try await d.client.send(.POST, ackPath, token: viewer, body: #"{"note":"x"}"#).0 == 403)
            #expect(try await d.client.send(.POST, ackPath, token: inspector, body: #"{"note":""}"#).0 == 400)
            let (ackStatus, ackBody) = try await d.client.send(.POST, ackPath, token: inspector, body: #"{"note":"calling the station"}"#)
            #expect(ackStatus == 200 && ackBody.contains(#""status":"acknowledged""#))
            #expect(try await d.client.send(.POST, ackPath, token: inspector, body: #"{"note":"again"}"#).0 == 409)
            let (resStatus, resBody) = try await d.client.send(.POST, "/v1/alerts/\(Int(id))/resolve", token: inspector, body: #"{"note":"illegal oil seized"}"#)
            #expect(resStatus == 200 && resBody.contains(#""resolution_note":"illegal oil seized""#))
            #expect(try await d.client.send(.GET, "/v1/alerts?status=bogus", token: viewer).0 == 400)

            let (stStatus, stBody) = try await d.client.send(.GET, "/v1/stations/\(station.id)", token: viewer)
            #expect(stStatus == 200 && stBody.contains(#""head_seq":\#(lines.count)"#))
            // Detection's view of each gauge that reported: its measured quality against the leak target.
            guard case .array(let gauges)? = try d.json(stBody)["gauges"], case .object(let t3)? = gauges.first(where: {
                if case .object(let o) = $0 { o["tank"] == .string("T3") } else { false }
            }) else { Issue.record("no gauge T3: \(stBody)"); return }
            guard case .number(let readings, _)? = t3["readings"], case .number(let target, _)? = t3["target_l_per_h"]
            else { Issue.record("no readings: \(t3)"); return }
            #expect(readings > 0 && target == 0.76, "\(t3)")
            #expect(try await d.client.send(.GET, "/v1/stations/\(d.registry.stations[1].id)", token: key).0 == 403)
        }
    }

    @Test func probesAndMetrics() async throws {
        try await TestDaemon.with { d in
            #expect(try await d.client.send(.GET, "/healthz", token: nil).0 == 200)
            // Probed as Kubernetes probes (again after a failure): /readyz gives the database 1 s, and
            // under the whole suite on two cores a first probe has outlasted it (CI, 2026-12-05).
            var (ready, readyBody) = try await d.client.send(.GET, "/readyz", token: nil)
            for _ in 0..<10 where ready != 200 {
                try await Task.sleep(for: .seconds(1))
                (ready, readyBody) = try await d.client.send(.GET, "/readyz", token: nil)
            }
            #expect(ready == 200 && readyBody.contains("ready"), "\(readyBody)")
            // The build's and the schema's versions, either way.
            let latest = try Migration.bundled().map(\.version).max()!
            #expect(readyBody.contains("\"build_schema\":\(latest)") && readyBody.contains("\"schema\":\(latest)") && readyBody.contains("\"compatible\":true"), "\(readyBody)")
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            _ = try await d.client.push(station: s, key: key, lines: [Self.line])
            _ = try await d.client.push(station: s, key: key, lines: [Self.line, #"{"seq":2,"kind":"sale"}"#, "{"])
            let (m, text) = try await d.client.send(.GET, "/metrics", token: nil)
            #expect(m == 200)
            #expect(text.contains(#"fuelwarden_records_total{kind="tank_reading",verdict="accepted"} 1"#))
            #expect(text.contains(#"fuelwarden_records_total{kind="tank_reading",verdict="duplicate"} 1"#))
            #expect(text.contains(#"fuelwarden_records_total{kind="sale",verdict="rejected"} 1"#))
            #expect(text.contains(#"fuelwarden_records_total{kind="unknown",verdict="rejected"} 1"#))
            #expect(text.contains("fuelwarden_ingest_duration_seconds_bucket"))
            // Two pushes one after the other: two commits of one request each; a second scrape counts nothing twice.
            #expect(text.contains("fuelwarden_append_batches_total 2") && text.contains("fuelwarden_append_batched_requests_total 2"), "\(text)")
            let again = try await d.client.send(.GET, "/metrics", token: nil).1
            #expect(again.contains("fuelwarden_append_batches_total 2") && again.contains("fuelwarden_append_failed_batches_total 0"))
            #expect(text.contains("fuelwarden_build_schema_version \(latest)") && text.contains("fuelwarden_schema_compatible 1"), "\(text)")
            #expect(text.contains(#"fuelwarden_alerts_open{rule="undeclared_delivery"}"#))
            let (o, spec) = try await d.client.send(.GET, "/openapi.yaml", token: nil)
            #expect(o == 200 && spec.contains("/v1/stations/{station}/records:"))
            for path in ["/v1/registry:", "/v1/stations/{station}/inspection:", "/v1/inspection-gaps:", "/v1/outbox:",
                         "/v1/stations/{station}/records/{seq}/provenance:", "/v1/batches/{batch}/trace:", "/v1/cities/{code}/coverage:",
                         "/v1/reports/quarterly:", "/v1/suppliers/{supplier}/licence:", "/v1/stations/{station}/hazards/{id}:"] {
                #expect(spec.contains(path), "\(path) is not documented")
            }
        }
    }
}

@Suite struct StaleFeedTests {
    /// A station that stops pushing gets a `telemetry_gap` alert on its feed (wall clock), resolved
    /// by itself when records arrive again.
    @Test func silentStationIsFlaggedAndClears() async throws {
        try await TestDaemon.with(tweak: { $0.detect.staleFeedAfter = .seconds(1) }) { d in
            let s = d.registry.stations[0].id, quiet = d.registry.stations[1].id
            let key = try await d.token(.station, station: s)
            let viewer = try await d.token(.viewer)
            _ = try await d.client.push(station: s, key: key, lines: [ApiTests.line])
            func feedAlerts(_ status: String) async throws -> String {
                try await d.client.send(.GET, "/v1/alerts?status=\(status)&rule=telemetry_gap", token: viewer).1
            }
            var open = ""
            for _ in 0..<50 {
                open = try await feedAlerts("open")
                if open.contains(#""subject":"feed""#) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(open.contains(#""station":"\#(s)""#) && open.contains(#""subject":"feed""#))
            #expect(!open.contains(quiet))  // never pushed: an inspection gap, not a stale feed
            let line2 = ApiTests.line.replacingOccurrences(of: #""seq":1"#, with: #""seq":2"#)
            _ = try await d.client.push(station: s, key: key, lines: [line2])
            var resolved = ""
            for _ in 0..<50 {
                resolved = try await feedAlerts("resolved")
                if resolved.contains(#""subject":"feed""#) { break }
                _ = try await d.client.push(station: s, key: key, lines: [line2])
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(resolved.contains(#""resolution_note":"records are arriving again""#))
        }
    }
}
