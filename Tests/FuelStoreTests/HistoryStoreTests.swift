import FuelLedger
import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

/// The history export's text, made by PostgreSQL in chunks: the same lines whatever the chunk size,
/// each with the canonical body byte for byte and the time as `Timestamp.rfc3339` writes it.
@Suite struct HistoryStoreTests {
    @Test func chunksJoinToTheSameLinesInChainOrder() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            var records = (1...9).map { Fixtures.reading(Int64($0)) }
            // A fraction of a second shows as RFC 3339 does: trailing zeros dropped.
            records[4].record = .tankReading(TankReading(tank: "T1", at: Fixtures.t0.adding(seconds: 300.25), volumeL: 18_000))
            _ = try await LedgerStore(database: db).append(station: "S1", records: records, rejected: [])
            let store = HistoryStore(database: db)
            let head = try #require(try await store.head(station: "S1"))

            func export(_ layout: HistoryLayout, chunk: Int64, from: Date? = nil, to: Date? = nil) async throws -> (String, Int, Int) {
                let parts = Mutex<[String]>([])
                let n = try await store.stream(station: "S1", from: from, to: to, through: head.seq, layout: layout, chunkRecords: chunk) { buf in
                    parts.withLock { $0.append(String(buffer: buf)) }
                }
                let all = parts.withLock { $0 }
                return (all.joined(), n, all.count)
            }
            let (whole, n, calls) = try await export(.ndjson, chunk: 5_000)
            #expect(n == 9 && calls == 1)
            for chunk in [1, 2, 4, 8] as [Int64] {
                let (text, count, parts) = try await export(.ndjson, chunk: chunk)
                #expect(text == whole && count == 9 && parts == Int((9 + chunk - 1) / chunk))
            }
            let lines = whole.split(separator: "\n").map(String.init)
            #expect(lines.count == 9)
            var hash = HashChain.genesis
            for (i, line) in lines.enumerated() {
                let body = String(line[line.range(of: "\"record\":")!.upperBound...].dropLast())
                hash = HashChain.link(previous: hash, position: Int64(i + 1), body: Array(body.utf8))
                #expect(line.hasPrefix("{\"chain_seq\":\(i + 1),\"source\":\"push\",\"source_seq\":\(i + 1),\"kind\":\"tank_reading\",\"at\":\""))
                #expect(line.contains("\"hash\":\"\(hash.hexString)\""))
            }
            #expect(hash == head.hash)
            #expect(lines[4].contains("\"at\":\"2026-11-01T08:05:00.25Z\"") && lines[3].contains("\"at\":\"2026-11-01T08:04:00Z\""))

            // A window by data time: records 3…6 (08:03 ≤ at < 08:07), in chunks that start outside it.
            let (window, wn, _) = try await export(.ndjson, chunk: 2, from: Fixtures.t0.adding(seconds: 180).date, to: Fixtures.t0.adding(seconds: 420).date)
            #expect(wn == 4 && window.split(separator: "\n").map { $0.prefix(15) } == lines[2...5].map { $0.prefix(15) })
            let (none, nn, ncalls) = try await export(.ndjson, chunk: 2, from: Fixtures.t0.adding(seconds: 86_400).date)
            #expect(none.isEmpty && nn == 0 && ncalls == 0)

            // CSV: the body quoted with its quotes doubled, CRLF line ends.
            let (csv, cn, _) = try await export(.csv, chunk: 4)
            let rows = csv.components(separatedBy: "\r\n").dropLast()
            #expect(cn == 9 && rows.count == 9)
            #expect(rows.first?.hasPrefix("1,push,1,tank_reading,2026-11-01T08:01:00Z,") == true)
            #expect(rows.first?.contains(",\"{\"\"station\"\":\"\"S1\"\",") == true)
        }
    }

    /// A cache that remembers what it was given and can hand back something else, to show its chunks are used.
    final class MemoryCache: HistoryChunkCache {
        let chunks = Mutex<[Int: ByteBuffer]>([:])
        let stores = Mutex<[Int]>([])
        func chunk(station: String, layout: HistoryLayout, index: Int, records: Int64) async -> ByteBuffer? { chunks.withLock { $0[index] } }
        func store(_ text: ByteBuffer, station: String, layout: HistoryLayout, index: Int, records: Int64) async {
            stores.withLock { $0.append(index) }
            chunks.withLock { $0[index] = text }
        }
    }

    @Test func completeChunksOfWholeChainExportsGoThroughTheCache() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            _ = try await LedgerStore(database: db).append(station: "S1", records: (1...9).map { Fixtures.reading(Int64($0)) }, rejected: [])
            let store = HistoryStore(database: db)
            let head = try #require(try await store.head(station: "S1"))
            let cache = MemoryCache()
            func export(from: Date? = nil) async throws -> String {
                let parts = Mutex<[String]>([])
                try await store.stream(station: "S1", from: from, to: nil, through: head.seq, layout: .ndjson, chunkRecords: 4, cache: cache) { buf in
                    parts.withLock { $0.append(String(buffer: buf)) }
                }
                return parts.withLock { $0.joined() }
            }
            let first = try await export()
            // Records 1–4 and 5–8 are complete chunks; 9 is not (the head may still grow).
            #expect(cache.stores.withLock { $0.sorted() } == [0, 1])
            #expect(try await export() == first && cache.stores.withLock { $0.count } == 2)
            // What the cache holds is what is sent.
            cache.chunks.withLock { $0[1] = ByteBuffer(string: "cached\n") }
            let second = try await export()
            #expect(second.split(separator: "\n").count == 6 && second.contains("cached\n"))
            // A window by time never uses the cache.
            #expect(try await export(from: Fixtures.t0.date).split(separator: "\n").count == 9)
        }
    }
}
