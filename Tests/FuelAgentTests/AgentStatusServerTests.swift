import AsyncHTTPClient
@testable import FuelAgent
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// The agent's local status server answers its three routes, refuses what is not one, and keeps a
/// connection for the next request.
@Suite struct AgentStatusServerTests {
    @Test func itAnswersItsRoutesAndRefusesTheRest() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-status-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        try spool.setFirstSeq(1)
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        let server = AgentStatusServer(host: "127.0.0.1", port: 0, spool: spool, logger: Logger(label: "status-test")) { cont.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { defer { cont.finish() }; try await server.run() }
            var it = ports.makeAsyncIterator()
            let port = try #require(await it.next())
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            func get(_ path: String, method: HTTPMethod = .GET) async throws -> (Int, String) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.method = method
                let response = try await client.execute(request, timeout: .seconds(5))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
            }
            do {
                #expect(try await get("/healthz") == (200, "ok\n"))
                let (status, body) = try await get("/status")
                #expect(status == 200 && body.hasPrefix("{") && body.contains("spooled"), "\(body)")
                let (m, metrics) = try await get("/metrics?x=1")
                #expect(m == 200 && metrics.contains("fuelwarden_agent_spooled_records 0.0"))
                #expect(try await get("/nope").0 == 404)
                #expect(try await get("/status", method: .POST).0 == 405)
                #expect(try await get("/healthz") == (200, "ok\n"), "the connection serves on")
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
        }
    }
}
