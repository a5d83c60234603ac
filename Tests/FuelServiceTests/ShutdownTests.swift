import AsyncHTTPClient
import FuelModel
import FuelService
import FuelTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

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
            // The body is pulled as the client writes it: once chunk 11 is asked for, the request
            // is on the wire, and the rest follows only after a pause.
            let (uploading, uploadingCont) = AsyncStream.makeStream(of: Void.self)
            let next = Counter()
            let body = AsyncStream<ByteBuffer> {
                let index = next.take()
                guard index < chunks.count else { return nil }
                if index == 11 {
                    uploadingCont.yield()
                    try? await Task.sleep(for: .milliseconds(1500))
                }
                return chunks[index]
            }
            req.body = .stream(body, length: .known(Int64(chunks.reduce(0) { $0 + $1.readableBytes })))
            async let response = HTTPClient.shared.execute(req, timeout: .seconds(30))
            var it = uploading.makeAsyncIterator()
            _ = await it.next()  // the head and 11 lines are written …
            try await Task.sleep(for: .milliseconds(400))  // … and the server is reading the body
            await d.shutdown()
            let r = try await response
            let answer = try await r.body.collect(upTo: 1 << 20)
            #expect(r.status.code == 200)
            #expect(String(buffer: answer).hasPrefix(#"{"accepted":50"#))
            let n = try await d.db.client.query("SELECT count(*) FROM ledger WHERE station = \(s)").collect().first?.decode(Int.self)
            #expect(n == 50)
        }
    }
}
