import FuelService
import FuelStore
import FuelTestSupport
import Foundation
import NIOCore
import Testing

@Suite struct HistoryFileCacheTests {
    @Test func chunksRoundTripAndTheLeastRecentlyUsedGoFirst() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = HistoryFileCache(directory: dir, maxMB: 1, logger: TestPostgres.logger)
        let chunk = ByteBuffer(string: String(repeating: "x", count: 400_000))
        #expect(await cache.chunk(station: "S1", layout: .ndjson, index: 0, records: 5_000) == nil)
        await cache.store(chunk, station: "S1", layout: .ndjson, index: 0, records: 5_000)
        #expect(await cache.chunk(station: "S1", layout: .ndjson, index: 0, records: 5_000) == chunk)
        // Other layouts and chunk sizes are other files.
        #expect(await cache.chunk(station: "S1", layout: .csv, index: 0, records: 5_000) == nil)
        #expect(await cache.chunk(station: "S1", layout: .ndjson, index: 0, records: 4_000) == nil)
        try await Task.sleep(for: .milliseconds(20))
        await cache.store(chunk, station: "S2", layout: .ndjson, index: 0, records: 5_000)
        try await Task.sleep(for: .milliseconds(20))
        // S1's chunk is read again: now S2's is the least recently used.
        _ = await cache.chunk(station: "S1", layout: .ndjson, index: 0, records: 5_000)
        try await Task.sleep(for: .milliseconds(20))
        // A third chunk takes the cache over 1 MB: trimmed to 90 %, oldest first.
        await cache.store(chunk, station: "S3", layout: .ndjson, index: 0, records: 5_000)
        #expect(await cache.chunk(station: "S2", layout: .ndjson, index: 0, records: 5_000) == nil)
        #expect(await cache.chunk(station: "S1", layout: .ndjson, index: 0, records: 5_000) == chunk)
        #expect(await cache.chunk(station: "S3", layout: .ndjson, index: 0, records: 5_000) == chunk)
    }
}
