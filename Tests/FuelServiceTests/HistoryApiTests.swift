import FuelLedger
import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import Testing

@Suite struct HistoryApiTests {
    static func reading(_ seq: Int, _ at: String) -> String {
        #"{"seq":\#(seq),"kind":"tank_reading","tank":"T1","at":"\#(at)","volume_l":\#(18000 - seq),"tc_volume_l":\#(17990 - seq),"temperature_c":14.2}"#
    }

    @Test func historyStreamsTheChainWithItsHead() async throws {
        try await TestDaemon.with(stations: 2) { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let inspector = try await d.token(.inspector)
            let viewer = try await d.token(.viewer)
            let lines = (1...3).map { Self.reading($0, "2026-11-01T0\($0):00:00Z") } + (4...5).map { Self.reading($0, "2026-11-02T0\($0):00:00Z") }
            _ = try await d.client.push(station: s, key: key, lines: lines)

            let reply = try await d.client.exchange(.GET, "/v1/stations/\(s)/history", token: inspector)
            #expect(reply.status == 200)
            let rows = reply.body.split(separator: "\n").map(String.init)
            #expect(rows.count == 6)
            // The receiver recomputes the chain from the exported bodies and reaches the head named last.
            var hash = HashChain.genesis
            for (i, row) in rows.dropLast().enumerated() {
                let body = String(row[row.range(of: "\"record\":")!.upperBound...].dropLast())
                hash = HashChain.link(previous: hash, position: Int64(i + 1), body: Array(body.utf8))
                #expect(row.contains("\"chain_seq\":\(i + 1),") && row.contains("\"hash\":\"\(hash.hexString)\""))
            }
            #expect(rows.last == "{\"chain_head\":{\"seq\":5,\"hash\":\"\(hash.hexString)\",\"suite\":\"international\"},\"records\":5}")

            // A window by data time; CSV; refusals.
            let day2 = try await d.client.send(.GET, "/v1/stations/\(s)/history?from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z", token: inspector)
            #expect(day2.1.split(separator: "\n").count == 3 && day2.1.hasSuffix("\"records\":2}\n"))
            let csv = try await d.client.send(.GET, "/v1/stations/\(s)/history?format=csv", token: inspector)
            let csvRows = csv.1.split(separator: "\r\n")
            #expect(csv.0 == 200 && csvRows.count == 6 && csvRows[0] == "chain_seq,source,source_seq,kind,at,hash,record")
            #expect(csvRows[1].hasPrefix("1,push,1,tank_reading,2026-11-01T01:00:00Z,") && csvRows[1].contains("\"{\"\"station\"\":\"\"\(s)\"\""))
            #expect(try await d.client.send(.GET, "/v1/stations/\(s)/history?format=xml", token: inspector).0 == 400)
            #expect(try await d.client.send(.GET, "/v1/stations/\(s)/history?from=yesterday", token: inspector).0 == 400)
            #expect(try await d.client.send(.GET, "/v1/stations/\(s)/history", token: viewer).0 == 403)
            #expect(try await d.client.send(.GET, "/v1/stations/\(s)/history", token: key).0 == 403)
            #expect(try await d.client.send(.GET, "/v1/stations/NOPE/history", token: inspector).0 == 404)
        }
    }

    @Test func aCachedExportIsTheSameExport() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-history-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await TestDaemon.with(stations: 1, tweak: { $0.history.cacheDir = dir; $0.ingest.maxBodyBytes = 1 << 20 }) { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let inspector = try await d.token(.inspector)
            // 5,003 records: one complete chunk of 5,000 and three more.
            for part in 0..<5 {
                let lines = (1...1_001).compactMap { i -> String? in
                    let seq = part * 1_001 + i
                    guard seq <= 5_003 else { return nil }
                    let t = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!.adding(seconds: Double(seq) * 60).rfc3339
                    return Self.reading(seq, t)
                }
                _ = try await d.client.push(station: s, key: key, lines: lines)
            }
            let first = try await d.client.send(.GET, "/v1/stations/\(s)/history", token: inspector)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/" + s)
            #expect(files == ["ndjson-5000-0"])
            let second = try await d.client.send(.GET, "/v1/stations/\(s)/history", token: inspector)
            #expect(first.0 == 200 && second.1 == first.1 && first.1.split(separator: "\n").count == 5_004)
        }
    }
}
