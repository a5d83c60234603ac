import Crypto
import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import Foundation
import Testing

/// The annual inspection through the real daemon: registry edits in the audit chain, the pre-check,
/// recorded verdicts with their notifications delivered to webhooks, and the province-wide gap list.
@Suite struct InspectionApiTests {
    static var year: Int { Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "Asia/Shanghai")!, from: Date()).year! }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not an object: \(text)")
    }

    static func finding(_ report: [String: Any], _ rule: String) -> [String: Any]? {
        (report["findings"] as? [[String: Any]])?.first { $0["rule"] as? String == rule }
    }

    @Test func aStationFailingForAnExpiredHazardousChemicalsLicenceNotifiesBothDepartments() async throws {
        // Emergency management answers 503 once, then 200; market supervision refuses with 400 (not retried).
        try await WebhookReceiver.with(script: ["/em": [503, 200], "/ms": [400]]) { receiver, base in
            try await TestDaemon.with(stations: 2, tweak: {
                $0.notify.webhooks = ["department:emergency_management": base + "/em", "department:market_supervision": base + "/ms"]
                $0.notify.secret = "s3cret"
                $0.notify.interval = .seconds(0.1)
                $0.notify.retryBase = .seconds(0.2)
            }) { d in
                let s = d.registry.stations[0].id
                let admin = try await d.token(.admin), inspector = try await d.token(.inspector), viewer = try await d.token(.viewer)
                let key = try await d.token(.station, station: s)
                let expired = "\(Self.year - 1)-12-31"

                // The licence lapses: an admin records it; the edit answers the value before and after.
                let licence = #"{"number":"HC-2024-001","issued":"2021-01-01","expires":"\#(expired)","state":"valid"}"#
                #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/licences/hazardous_chemicals", token: inspector, body: licence).0 == 403)
                let (editStatus, editBody) = try await d.client.send(.PUT, "/v1/stations/\(s)/licences/hazardous_chemicals", token: admin, body: licence)
                #expect(editStatus == 200, "\(editBody)")
                let edit = try Self.object(editBody)
                #expect((edit["before"] as? [String: Any])?["number"] as? String == "HC-\(s)")
                #expect((edit["after"] as? [String: Any])?["expires"] as? String == expired)

                // Only inspectors and admins run the pre-check.
                let path = "/v1/stations/\(s)/inspection?year=\(Self.year)"
                #expect(try await d.client.send(.GET, path, token: viewer).0 == 403)
                #expect(try await d.client.send(.GET, path, token: key).0 == 403)
                #expect(try await d.client.send(.GET, "/v1/stations/\(s)/inspection", token: inspector).0 == 400)
                #expect(try await d.client.send(.GET, "/v1/stations/NOPE/inspection?year=\(Self.year)", token: inspector).0 == 404)

                let (status, body) = try await d.client.send(.GET, path, token: inspector)
                #expect(status == 200, "\(body)")
                let report = try Self.object(body)
                #expect(report["verdict"] as? String == "fail")
                let f = try #require(Self.finding(report, "licence.hazardous_chemicals"))
                #expect(f["outcome"] as? String == "fail")
                #expect(f["reason"] as? String == "hazardous-chemicals trading licence HC-2024-001 expired on \(expired)")
                #expect((f["evidence"] as? [String: Any])?["number"] as? String == "HC-2024-001")
                // Every other rule passed on its own evidence; the chain was recomputed.
                #expect(Self.finding(report, "licence.business")?["outcome"] as? String == "pass")
                #expect(Self.finding(report, "chain")?["outcome"] as? String == "pass")
                #expect(report["recorded"] == nil)

                // Recording the fail verdict queues one notification per department, in the same transaction.
                let (postStatus, postBody) = try await d.client.send(.POST, path, token: inspector)
                #expect(postStatus == 201, "\(postBody)")
                let recorded = try #require(try Self.object(postBody)["recorded"] as? [String: Any])
                let ids = try #require(recorded["notifications"] as? [Int])
                #expect(ids.count == 2)

                // Delivered: emergency management after one retry, market supervision failed for good after its 400.
                var items: [[String: Any]] = []
                for _ in 0..<100 {
                    let (_, text) = try await d.client.send(.GET, "/v1/outbox?topic=inspection.fail", token: admin)
                    items = try Self.object(text)["notifications"] as? [[String: Any]] ?? []
                    if items.count == 2, items.allSatisfy({ $0["status"] as? String != "pending" }) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let byRecipient = Dictionary(uniqueKeysWithValues: items.map { ($0["recipient"] as? String ?? "", $0) })
                let em = try #require(byRecipient["department:emergency_management"])
                let ms = try #require(byRecipient["department:market_supervision"])
                #expect(em["status"] as? String == "delivered")
                #expect((em["deliveries"] as? [[String: Any]])?.map { $0["http_status"] as? Int } == [503, 200])
                #expect(ms["status"] as? String == "failed")
                #expect((ms["deliveries"] as? [[String: Any]])?.count == 1)
                #expect((em["payload"] as? [String: Any])?["station"] as? String == s)
                #expect(try await d.client.send(.GET, "/v1/outbox", token: inspector).0 == 403)

                // What the receiver got: the payload, the outbox id, and a signature it can check.
                let got = receiver.received.filter { $0.path == "/em" }
                #expect(got.count == 2)
                let last = try #require(got.last)
                #expect(last.headers["fuelwarden-delivery"] == "\(em["id"] as? Int ?? -1)")
                let mac = HMAC<SHA256>.authenticationCode(for: Data(last.body.utf8), using: SymmetricKey(data: Data("s3cret".utf8)))
                #expect(last.headers["fuelwarden-signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
                let payload = try Self.object(last.body)
                #expect(payload["verdict"] as? String == "fail" && payload["year"] as? Int == Self.year)
                #expect((payload["failing"] as? [[String: Any]])?.map { $0["rule"] as? String } == ["licence.hazardous_chemicals"])

                // Both the edit and the verdict are in the audit chain, which still verifies.
                let actions = try await TestPostgres.strings(d.db, "SELECT action FROM audit_log ORDER BY seq")
                #expect(actions.suffix(2) == ["registry.licence", "inspection.record"])
                #expect(try await ChainAudit(database: d.db).verify().isIntact)
            }
        }
    }

    @Test func hazardsCasesAndApprovalsChangeTheVerdictAndAreAudited() async throws {
        try await TestDaemon.with(stations: 2) { d in
            let s = d.registry.stations[1].id
            let admin = try await d.token(.admin), inspector = try await d.token(.inspector), viewer = try await d.token(.viewer)
            let key = try await d.token(.station, station: s)
            let path = "/v1/stations/\(s)/inspection?year=\(Self.year)&verify_chain=false"
            func verdict() async throws -> [String: Any] { try Self.object(try await d.client.send(.GET, path, token: inspector).1) }
            #expect(try await verdict()["verdict"] as? String != "fail")

            // An inspector records a hazard: the station fails; remedied, that rule passes again.
            let opened = "\(Self.year)-01-05"
            let hazard = #"{"description":"卸油口静电接地失效","opened":"\#(opened)"}"#
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/hazards/HZ-1", token: viewer, body: hazard).0 == 403)
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/hazards/HZ-1", token: inspector, body: hazard).0 == 200)
            var r = try await verdict()
            #expect(r["verdict"] as? String == "fail")
            #expect(Self.finding(r, "safety_hazards")?["reason"] as? String == "1 unremedied safety hazard: HZ-1 (opened \(opened): 卸油口静电接地失效)")
            let bad = try await d.client.send(.PUT, "/v1/stations/\(s)/hazards/HZ-1", token: inspector,
                                              body: #"{"opened":"\#(opened)","remedied":"\#(Self.year - 1)-01-01"}"#)
            // A remedy dated before its hazard: well-formed, but contradictory (422); a NUL or an overlong text: 400.
            #expect(bad.0 == 422 && bad.1.contains("hazards[0].remedied"), "\(bad)")
            let nul = try await d.client.send(.PUT, "/v1/stations/\(s)/hazards/HZ-1", token: inspector,
                                              body: #"{"opened":"\#(opened)","description":"a\u0000b"}"#)
            #expect(nul.0 == 400 && nul.1.contains("description: contains a NUL"), "\(nul)")
            let long = try await d.client.send(.PUT, "/v1/stations/\(s)/hazards/HZ-1", token: inspector,
                                               body: #"{"opened":"\#(opened)","description":"\#(String(repeating: "x", count: 2001))"}"#)
            #expect(long.0 == 400, "\(long)")
            let garbled = try await d.client.send(.PUT, "/v1/stations/\(s)/hazards/HZ-1", token: inspector, body: #"{"opened":"yesterday"}"#)
            #expect(garbled.0 == 400 && garbled.1.contains("opened"), "\(garbled)")
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/hazards/HZ-1", token: inspector,
                                            body: #"{"opened":"\#(opened)","remedied":"\#(opened)"}"#).0 == 200)
            r = try await verdict()
            #expect(Self.finding(r, "safety_hazards")?["outcome"] as? String == "pass")

            // An open serious case fails; a minor one needs attention.
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/cases/C-7", token: inspector,
                                            body: #"{"serious":true,"opened":"\#(opened)","description":"无证经营"}"#).0 == 200)
            #expect(Self.finding(try await verdict(), "violation_cases")?["outcome"] as? String == "fail")
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/cases/C-7", token: inspector,
                                            body: #"{"serious":false,"opened":"\#(opened)"}"#).0 == 200)
            #expect(Self.finding(try await verdict(), "violation_cases")?["outcome"] as? String == "needs_attention")

            // Approvals and status belong to admins.
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/approvals/planning", token: inspector, body: #"{"granted":false}"#).0 == 403)
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/approvals/planning", token: admin, body: #"{"granted":false}"#).0 == 200)
            #expect(Self.finding(try await verdict(), "approval.planning")?["reason"] as? String == "planning approval is not granted")
            #expect(try await d.client.send(.DELETE, "/v1/stations/\(s)/approvals/planning", token: admin).0 == 200)
            #expect(Self.finding(try await verdict(), "approval.planning")?["reason"] as? String == "no planning approval on record")
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/approvals/fire", token: admin, body: #"{"granted":true}"#).0 == 404)
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/status", token: admin, body: #"{"status":"closed"}"#).0 == 400)
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/status", token: admin, body: #"{"status":"suspended"}"#).0 == 200)
            #expect(Self.finding(try await verdict(), "station.status")?["outcome"] as? String == "needs_attention")
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s)/status", token: key, body: #"{"status":"active"}"#).0 == 403)

            // The station's detail shows what was recorded; each edit is one audit entry with before and after.
            let detail = try Self.object(try await d.client.send(.GET, "/v1/stations/\(s)", token: viewer).1)
            let station = try #require(detail["station"] as? [String: Any])
            #expect((station["hazards"] as? [[String: Any]])?.first?["remedied"] as? String == opened)
            #expect((station["cases"] as? [[String: Any]])?.first?["serious"] as? Bool == false)
            let entries = try await TestPostgres.strings(d.db, "SELECT body FROM audit_log WHERE action LIKE 'registry.%' AND action <> 'registry.import' ORDER BY seq")
            #expect(entries.count == 7)
            #expect(entries.first?.contains(#""key":"hazards.HZ-1""#) == true && entries.first?.contains(#""before":"null""#) == true)
            #expect(try await ChainAudit(database: d.db).verify().isIntact)

            // Days with data: records on three days of the year.
            let pushKey = try await d.token(.station, station: d.registry.stations[0].id)
            let lines = (1...3).map { day in
                #"{"seq":\#(day),"kind":"tank_reading","tank":"T1","at":"\#(Self.year)-01-0\#(day)T02:00:00Z","volume_l":18234.5,"tc_volume_l":18190.2,"temperature_c":14.2}"#
            }
            _ = try await d.client.push(station: d.registry.stations[0].id, key: pushKey, lines: lines + [lines[0]])
            let other = try Self.object(try await d.client.send(
                .GET, "/v1/stations/\(d.registry.stations[0].id)/inspection?year=\(Self.year)", token: inspector).1)
            let coverage = try #require(Self.finding(other, "data_coverage")?["evidence"] as? [String: Any])
            #expect(coverage["days_with_data"] as? Int == 3)
            #expect((Self.finding(other, "chain")?["evidence"] as? [String: Any])?["records_checked"] as? Int == 3)
        }
    }

    @Test func gapsAreListedProvinceWideAndCriticalAlertsReachTheCitysContacts() async throws {
        try await TestDaemon.with(stations: 4) { d in
            let admin = try await d.token(.admin), viewer = try await d.token(.viewer)
            let s0 = d.registry.stations[0], s1 = d.registry.stations[1]
            let soon = Calendar(identifier: .gregorian).date(byAdding: .day, value: 45, to: Date())!
            let soonText = Timestamp(soon).rfc3339.prefix(10)
            // A registry file through the API: a hazard for another station.
            let yaml = FuelSimRegistry.yaml(4).replacingOccurrences(
                of: "  - id: \(s1.id)\n", with: "  - id: \(s1.id)\n    hazards: [{id: HZ-9, description: 油气回收管线泄漏, opened: \"\(Self.year)-02-01\"}]\n")
            #expect(yaml.contains("HZ-9"))
            let (importStatus, importBody) = try await d.client.send(.POST, "/v1/registry", token: admin, body: yaml, contentType: "application/yaml")
            let imported = try Self.object(importBody)
            #expect(importStatus == 200 && imported["hazards"] as? Int == 1, "\(importBody)")
            #expect(try await d.client.send(.POST, "/v1/registry", token: viewer, body: yaml).0 == 403)
            let broken = try await d.client.send(.POST, "/v1/registry", token: admin, body: "stations: [{id: X}]")
            // Well-formed YAML that is not a usable registry: 422 naming the entry; an empty one imports nothing.
            #expect(broken.0 == 422 && broken.1.contains("stations[0]"), "\(broken)")
            #expect(try await d.client.send(.POST, "/v1/registry", token: admin, body: "{}").0 == 422)
            #expect(try await d.client.send(.POST, "/v1/registry", token: admin, body: "cities: [{code: \"1\\0\"}]").0 == 422)

            // Edits after the import: the import sets licences as the file has them.
            #expect(try await d.client.send(.PUT, "/v1/stations/\(s0.id)/licences/business", token: admin,
                                            body: #"{"number":"BL-9","expires":"\#(soonText)"}"#).0 == 200)
            // A sale at 300 L/min on a 50 L/min nozzle: a critical alert, routed to the city's responsible person and liaison.
            let key = try await d.token(.station, station: s0.id)
            _ = try await d.client.push(station: s0.id, key: key, lines: [
                #"{"seq":1,"kind":"sale","nozzle":"N1","grade":"92","volume_l":300,"unit_price":7.5,"amount":2250,"started_at":"2026-11-01T08:00:00Z","ended_at":"2026-11-01T08:01:00Z"}"#,
            ])
            try await d.detectionCaughtUp()
            let (_, outbox) = try await d.client.send(.GET, "/v1/outbox?topic=alert.critical", token: admin)
            let routed = try Self.object(outbox)["notifications"] as? [[String: Any]] ?? []
            #expect(Set(routed.map { $0["recipient"] as? String ?? "" }) == ["city:\(s0.city):responsible", "city:\(s0.city):liaison"], "\(outbox)")
            let payload = try #require(routed.first?["payload"] as? [String: Any])
            #expect(payload["station"] as? String == s0.id && payload["rule"] as? String == "impossible_sale")
            #expect((payload["contact"] as? [String: Any])?["name"] != nil)
            // Nothing is configured to deliver them: they wait, visible.
            #expect(routed.allSatisfy { $0["status"] as? String == "pending" })

            let (status, body) = try await d.client.send(.GET, "/v1/inspection-gaps", token: viewer)
            #expect(status == 200, "\(body)")
            let all = try Self.object(body)
            let gaps = try #require(all["gaps"] as? [[String: Any]])
            let expiring = gaps.filter { $0["kind"] as? String == "licence_expiring" }
            #expect(expiring.count == 1 && expiring.first?["station"] as? String == s0.id && expiring.first?["within_days"] as? Int == 60)
            #expect(gaps.contains { $0["kind"] as? String == "hazard_open" && $0["station"] as? String == s1.id && $0["subject"] as? String == "HZ-9" })
            // Three stations never sent anything; no station was ever inspected.
            #expect(gaps.filter { $0["kind"] as? String == "silent" }.count == 3)
            #expect(gaps.filter { $0["kind"] as? String == "inspection_overdue" }.count == 4)
            #expect((all["licences_expiring_within"] as? [String: Int])?["60"] == 1)
            #expect(all["stations"] as? Int == 4)

            // Filters.
            let cityOnly = try Self.object(try await d.client.send(.GET, "/v1/inspection-gaps?city=\(s0.city)", token: viewer).1)
            #expect((cityOnly["gaps"] as? [[String: Any]])?.allSatisfy { $0["city"] as? String == s0.city } == true)
            let kindOnly = try Self.object(try await d.client.send(.GET, "/v1/inspection-gaps?kind=hazard_open", token: viewer).1)
            #expect((kindOnly["gaps"] as? [[String: Any]])?.count == 1)
            #expect(try await d.client.send(.GET, "/v1/inspection-gaps?kind=nonsense", token: viewer).0 == 400)
            #expect(try await d.client.send(.GET, "/v1/inspection-gaps?city=999999", token: viewer).0 == 404)
            #expect(try await d.client.send(.GET, "/v1/inspection-gaps", token: key).0 == 403)
        }
    }
}
