import Foundation
import FuelAsync
import FuelLab
import FuelClient
import FuelLedger
import FuelModel
import FuelPostgresFixture
import FuelService
import FuelSim
import FuelStore
import FuelWire
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// `fuelwarden bench ingest`: our push path (HTTP → decode → validate → chain → multi-row insert →
/// verdict) against PostgreSQL COPY of the identical rows, measured in one run on one server.
package struct IngestBenchmark: Sendable {
    package var stations = 20
    package var recordsPerStation = 5_000
    package var batchSize = 1_000
    package var concurrency = 4
    package var detection = false
    /// The ledger suite of the database pushed into (guomi: SM3 links and trees).
    package var suite = LedgerSuite.international
    /// Print where a push's time goes, stage by stage, per record.
    package var profile = false
    /// COPY the identical rows into a second database and compare (off when only the push path is compared).
    package var withCopy = true
    /// Print the pure path's cost before the push run (once where several rounds run).
    package var printPurePath = true
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(logger: Logger, print: @escaping @Sendable (String) -> Void = { Swift.print($0) }) {
        self.logger = logger
        self.print = print
    }

    /// The pure path stage by stage (each stage timed alone over all lines, best of three), so the
    /// next piece of work on it is chosen by figures.
    static func purePathSplit(lines: [[UInt8]], station: Station, suite: LedgerSuite) -> String {
        func best(_ body: () -> Void) -> Double {
            var b = Double.infinity
            for _ in 0..<3 {
                let t = ContinuousClock.now
                body()
                b = min(b, (ContinuousClock.now - t).inSeconds * 1e6 / Double(max(lines.count, 1)))
            }
            return b
        }
        let decoded = lines.compactMap { try? PushRecordCodec.decode($0) }
        let bodies = decoded.map { CanonicalEncoding.encode(station: station.id, source: .push, sourceSeq: $0.seq, record: $0.record) }
        let decode = best { for l in lines { _ = try? PushRecordCodec.decode(l) } }
        let validate = best { for l in decoded { _ = try? RecordValidator.validate(l.record, station: station) } }
        let canonical = best { for l in decoded { _ = CanonicalEncoding.encode(station: station.id, source: .push, sourceSeq: l.seq, record: l.record) } }
        let hashes = best {
            var appender = ChainAppender(headPosition: 0, headHash: HashChain.genesis, suite: suite)
            for b in bodies {
                _ = HashChain.contentHash(b, suite: suite)
                _ = appender.append(body: b)
            }
        }
        return String(format: "decode %.2f · validate %.2f · canonical %.2f · hashes %.2f µs", decode, validate, canonical, hashes)
    }

    package struct Result: Sendable {
        package var records: Int
        package var apiSeconds: Double
        package var copySeconds: Double
        package var apiRate: Double { Double(records) / apiSeconds }
        package var copyRate: Double { Double(records) / copySeconds }
        /// nil when the run did no COPY.
        package var ratio: Double? { copySeconds > 0 ? apiRate / copyRate : nil }
    }

    @discardableResult
    package func run() async throws -> Result {
        #if DEBUG
        print("warning: this is a debug build; time a release build: swift run -c release fuelwarden bench ingest")
        #endif
        let cluster = try ThrowawayCluster(durable: true)
        defer { cluster.stop() }
        try cluster.createDatabase("bench_api")
        try cluster.createDatabase("bench_copy")
        print("PostgreSQL on 127.0.0.1:\(cluster.port) (fsync on, synchronous_commit on)")

        // Workload: simulated stations' records, encoded as the push contract (not timed).
        let yaml = DemoRegistry.yaml(stations: stations)
        let registry = try RegistryFileDecoder.decode(yaml: yaml)
        var workload: [(String, [String])] = []
        for (i, s) in registry.stations.enumerated() {
            var days = 1.0
            var records: [Record] = []
            while records.count < recordsPerStation {
                var sim = StationSimulator(StationScenario(station: s, seed: UInt64(i + 1), start: DemoRunner.start, days: days, prices: DemoRegistry.prices))
                records = sim.records()
                days *= 2
            }
            workload.append((s.id, records.prefix(recordsPerStation).enumerated().map {
                PushRecordCodec.encode(PushLine(seq: Int64($0.offset + 1), record: $0.element))
            }))
        }
        let total = stations * recordsPerStation
        let meanBytes = workload.flatMap(\.1).prefix(10_000).map(\.utf8.count).reduce(0, +) / min(total, 10_000)
        print("workload: \(stations) stations × \(recordsPerStation) records = \(total) records (~\(meanBytes) B per line), \(batchSize) per push, \(concurrency) concurrent pushers")

        // CPU per record of the pure part of our path (decode, validate, canonical body, two SHA-256), one core.
        if printPurePath {
            let lines = workload.prefix(4).flatMap(\.1).map { Array($0.utf8) }
            let station = registry.stations[0]
            var appender = ChainAppender(headPosition: 0, headHash: HashChain.genesis, suite: suite)
            let t = ContinuousClock.now
            for line in lines {
                guard let l = try? PushRecordCodec.decode(line), (try? RecordValidator.validate(l.record, station: station)) != nil else { continue }
                let body = CanonicalEncoding.encode(station: station.id, source: .push, sourceSeq: l.seq, record: l.record)
                _ = HashChain.contentHash(body, suite: suite)
                _ = appender.append(body: body)
            }
            let e = ContinuousClock.now - t
            let us = e.inSeconds * 1e6 / Double(lines.count)
            print(String(format: "pure path    : %.1f µs per record on one core (decode, validate, canonical body, %@ hashes)", us, suite.hashName))
            print("               " + Self.purePathSplit(lines: lines, station: station, suite: suite))
        }

        // Our path.
        var config = FuelwardenConfig()
        config.database.url = cluster.url(database: "bench_api")
        config.http.port = 0
        config.logLevel = .warning
        config.database.maxConnections = max(8, concurrency * 2)
        config.detect.enabled = detection
        config.ledger.suite = suite
        var quiet = logger
        quiet.logLevel = .warning
        let stages = profile ? IngestProfile() : nil
        let clientTime = DurationSum()
        let components = try FuelwardenComponents(config: config, logger: quiet, profile: stages)
        try await Self.prepare(url: cluster.url(database: "bench_api"), yaml: yaml, suite: suite, logger: quiet)
        if withCopy { try await Self.prepare(url: cluster.url(database: "bench_copy"), yaml: yaml, logger: quiet) }
        let (listening, cont) = AsyncStream.makeStream(of: Int.self)
        let group = FuelwardenDaemon.serviceGroup(components: components, logger: quiet) { cont.yield($0) }
        let apiSeconds: Double = try await withThrowingTaskGroup(of: Double?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            var it = listening.makeAsyncIterator()
            guard let port = await it.next() else { throw StoreError.unavailable("daemon did not start") }
            let tokens = TokenStore(database: components.database)
            var keys: [String: String] = [:]
            for (s, _) in workload { keys[s] = try await tokens.issue(role: .station, station: s, name: s) }
            let client = FuelwardenClient(baseURL: "http://127.0.0.1:\(port)")
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { pushers in
                var queue = workload.makeIterator()
                func next() {
                    guard let (station, lines) = queue.next() else { return }
                    let key = keys[station]!
                    pushers.addTask {
                        for chunk in stride(from: 0, to: lines.count, by: batchSize) {
                            let sent = ContinuousClock.now
                            let v = try await client.push(station: station, key: key, lines: Array(lines[chunk..<min(chunk + batchSize, lines.count)]))
                            clientTime.add(ContinuousClock.now - sent)
                            guard v.rejected.isEmpty else { throw StoreError.invalid("bench line rejected: \(v.rejected[0].error)") }
                        }
                    }
                }
                for _ in 0..<concurrency { next() }
                while try await pushers.next() != nil { next() }
            }
            let elapsed = ContinuousClock.now - start
            await group.triggerGracefulShutdown()
            while let r = try await tasks.next() { if r != nil { break } }
            return elapsed.inSeconds
        }

        guard withCopy else {
            print(String(format: "our push API : %8.0f records/s  (%d records in %.2f s, %@ ledger)", Double(total) / apiSeconds, total, apiSeconds, suite.rawValue))
            return Result(records: total, apiSeconds: apiSeconds, copySeconds: 0)
        }
        // The raw path: the identical rows, read back from our database, COPYed into a fresh one.
        let rows = try await Self.readLedger(url: cluster.url(database: "bench_api"), logger: quiet)
        guard rows.count == total else { throw StoreError.invalid("expected \(total) ledger rows, found \(rows.count)") }
        let copySeconds = try await Self.copy(rows, url: cluster.url(database: "bench_copy"), parallel: min(concurrency, 2), logger: quiet)

        let result = Result(records: total, apiSeconds: apiSeconds, copySeconds: copySeconds)
        print(String(format: "our push API : %8.0f records/s  (%d records in %.2f s, through HTTP, decode, validate, hash chain, commit)", result.apiRate, total, apiSeconds))
        print(String(format: "raw COPY     : %8.0f rows/s     (%d identical rows in %.2f s, %d parallel COPY)", result.copyRate, total, copySeconds, min(concurrency, 2)))
        print(String(format: "ratio        : %.2f (goal ≥ 0.7)", result.ratio ?? 0))
        if let stages { Self.printProfile(stages, clientSeconds: clientTime.total.inSeconds, print: print) }
        return result
    }

    /// Each stage's time per record, and what is left of the client's wait outside the handler.
    /// `unit` names what was sent (HTTP pushes, HJ 212 packets) and `outside` what the time outside
    /// the append's stages was spent in.
    static func printProfile(_ profile: IngestProfile, clientSeconds: Double, unit: String = "pushes",
                             outside: String = "HTTP outside the handler", print: (String) -> Void) {
        let p = profile.perRecord
        let handler = p.stages.map(\.1).reduce(0, +)
        let client = clientSeconds * 1e6 / Double(max(1, p.records))
        print("where a record's time goes (\(p.pushes) \(unit), \(p.records) records, \(p.batches) batches; summed over \(unit) in flight, µs per record):")
        func row(_ label: String, _ us: Double) {
            print("  " + label.padding(toLength: 38, withPad: " ", startingAt: 0) + String(format: "%8.2f µs  %5.1f %%", us, 100 * us / max(client, handler)))
        }
        for (stage, us) in p.stages { row(stage.label, us) }
        row(outside, max(0, client - handler))
        row("client's wait per record", client)
    }

    static func prepare(url: String, yaml: String, suite: LedgerSuite = .international, logger: Logger) async throws {
        let db = FuelDatabase(url: try DatabaseURL(url), maxConnections: 2, requestDeadline: .seconds(120), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }
            try await Migrator(database: db).migrate(suite: suite)
            _ = try await RegistryStore(database: db).importRegistry(
                try RegistryFileDecoder.decode(yaml: yaml), sourceDigest: "", actor: "bench")
        }
    }

    /// One COPY text line per ledger row.
    static func readLedger(url: String, logger: Logger) async throws -> [String] {
        let db = FuelDatabase(url: try DatabaseURL(url), maxConnections: 2, requestDeadline: .seconds(300), logger: logger)
        return try await withThrowingTaskGroup(of: [String]?.self) { group in
            group.addTask { await db.run(); return nil }
            defer { group.cancelAll() }
            return try await db.connection("read ledger") { conn in
                var out: [String] = []
                let rows = try await conn.query("""
                    SELECT station, chain_seq, source, source_seq, kind, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           body, encode(content_hash, 'hex'), encode(prev_hash, 'hex'), encode(hash, 'hex')
                    FROM ledger ORDER BY station, chain_seq
                    """, logger: logger)
                for try await (st, seq, src, sseq, kind, at, body, ch, prev, h) in rows.decode(
                    (String, Int64, String, Int64, String, String, String, String, String, String).self) {
                    out.append("\(st)\t\(seq)\t\(src)\t\(sseq)\t\(kind)\t\(at)\t\(copyEscape(body))\t\\\\x\(ch)\t\\\\x\(prev)\t\\\\x\(h)\n")
                }
                return out
            }
        } ?? []
    }

    static func copyEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func copy(_ rows: [String], url: String, parallel: Int, logger: Logger) async throws -> Double {
        let db = FuelDatabase(url: try DatabaseURL(url), maxConnections: parallel, requestDeadline: .seconds(300), logger: logger)
        return try await withThrowingTaskGroup(of: Double?.self) { group in
            group.addTask { await db.run(); return nil }
            defer { group.cancelAll() }
            _ = await db.ping()
            let parts = stride(from: 0, to: rows.count, by: (rows.count + parallel - 1) / parallel).map {
                Array(rows[$0..<min($0 + (rows.count + parallel - 1) / parallel, rows.count)])
            }
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { copies in
                for part in parts {
                    copies.addTask {
                        try await db.client.withConnection { conn in
                            try await conn.copyFrom(
                                table: "ledger",
                                columns: ["station", "chain_seq", "source", "source_seq", "kind", "at", "body", "content_hash", "prev_hash", "hash"],
                                logger: logger
                            ) { writer in
                                var buf = ByteBuffer()
                                for line in part {
                                    buf.writeString(line)
                                    if buf.readableBytes > 1 << 20 {
                                        try await writer.write(buf)
                                        buf.clear()
                                    }
                                }
                                if buf.readableBytes > 0 { try await writer.write(buf) }
                            }
                        }
                    }
                }
                try await copies.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            return elapsed.inSeconds
        } ?? 0
    }
}

/// Durations summed from many tasks.
final class DurationSum: Sendable {
    private let sum = Mutex(Duration.zero)
    func add(_ d: Duration) { sum.withLock { $0 += d } }
    var total: Duration { sum.withLock { $0 } }
}
