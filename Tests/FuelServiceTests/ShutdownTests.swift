import AsyncHTTPClient
import FuelModel
import FuelService
import FuelTestSupport
import Foundation
import NIOCore
import Testing

@Suite struct ShutdownTests {
    /// Graceful shutdown (SIGTERM) while a push is still uploading: the push completes with its
    /// verdict and its records are committed.
    @Test func inFlightPushCompletesDuringShutdown() async throws {
        try await TestDaemon.with { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let lines = (1...50).map {
                #"{"seq":\#($0),"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:\#(String(format: "%02d", $0 % 60)):00Z","volume_l":18000}"#
            }
            var req = HTTPClientRequest(url: d.client.baseURL + "/v1/stations/\(s)/records")
            req.method = .POST
            req.headers.add(name: "Authorization", value: "Bearer \(key)")
            let chunks = lines.map { ByteBuffer(string: $0 + "\n") }
            let slow = AsyncStream<ByteBuffer> { cont in
                Task {
                    for (i, c) in chunks.enumerated() {
                        cont.yield(c)
                        if i == 10 { try? await Task.sleep(for: .milliseconds(600)) }
                    }
                    cont.finish()
                }
            }
            req.body = .stream(slow, length: .known(Int64(chunks.reduce(0) { $0 + $1.readableBytes })))
            async let response = HTTPClient.shared.execute(req, timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(300))  // the upload is under way
            await d.shutdown()
            let r = try await response
            let body = try await r.body.collect(upTo: 1 << 20)
            #expect(r.status.code == 200)
            #expect(String(buffer: body).hasPrefix(#"{"accepted":50"#))
            let n = try await d.db.client.query("SELECT count(*) FROM ledger WHERE station = \(s)").collect().first?.decode(Int.self)
            #expect(n == 50)
        }
    }
}
