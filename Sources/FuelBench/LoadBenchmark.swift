import AsyncHTTPClient
import Foundation
import FuelAsync
import FuelClient
import FuelLab
import FuelModel
import FuelPostgresFixture
import FuelSim
import FuelStore
import FuelWire
import Logging
import NIOCore
import NIOHTTP1

/// `fuelwarden bench load`: a province at its peak against a real `fuelwarden serve` process.
///
/// Starts a durable throwaway PostgreSQL, imports a registry of `stations` stations, issues their
/// keys, starts the daemon as a child process (detection on), then pushes at a fixed rate, open
/// loop: each request is due at its scheduled time and its latency counts from then, so a slow
/// daemon cannot hide its queue (no coordinated omission). Every step reports accepted records/s,
/// p50/p99 latency, errors and the daemon's resident memory (peak of `VmRSS` sampled each 250 ms).
/// With several rates, steps run in order and the highest one held with p99 ≤ 1 s is the ceiling.
package struct LoadBenchmark: Sendable {
    package var stations = 4_000
    /// Records per second, one step each.
    package var rates: [Double] = [1_500]
    package var seconds = 180.0
    /// Records per request (a station's collector sends what it gathered since its last push).
    package var batch = 5
    /// Requests in flight at most; more are counted as errors (the generator would fall behind).
    package var maxInFlight = 512
    /// Keep-alive connections to the daemon (requests wait for a free one, as behind a station's router).
    package var connections = 256
    /// PostgreSQL parameters set on the throwaway cluster before the daemon starts (`--pg name=value`).
    package var serverSettings: [(name: String, value: String)] = []
    /// The `fuelwarden` binary to run as the daemon.
    package var executable: String
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(executable: String, logger: Logger, print: @escaping @Sendable (String) -> Void) {
        self.executable = executable
        self.logger = logger
        self.print = print
    }

    package struct Step: Sendable {
        package var rate: Double
        package var seconds: Double
        package var records = 0
        package var requests = 0
        package var errors = 0
        package var latencies: [Double] = []
        /// p99 of each second of the step, in order: a stall shows as a bad second, not only in the overall p99.
        package var secondP99s: [Double] = []
        /// The second of the step each of ``secondP99s`` is (seconds without an answer have none).
        package var secondNumbers: [Int] = []
        package var peakRSSBytes = 0
        /// What the machine and PostgreSQL did in each second (when the step was sampled).
        var server: [StepSampler.Second] = []

        package var p50: Double { latencies.quantile(0.5) ?? .nan }
        package var p99: Double { latencies.quantile(0.99) ?? .nan }
    }

    package func run() async throws -> [Step] {
        let fixture = try await ProvinceFixture.make(stations: stations, database: "fuelwarden_load", logger: logger, print: print)
        defer { fixture.stop() }
        // WAL sync time in pg_stat_wal, for the stall report; then what the caller asked for.
        let settings = [(name: "track_wal_io_timing", value: "on")] + serverSettings
        try fixture.cluster.configure(settings)
        print("• PostgreSQL: " + settings.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
              + "; shared_buffers " + (try fixture.cluster.psql(database: "postgres", "SHOW shared_buffers")).trimmingCharacters(in: .whitespacesAndNewlines)
              + ", max_wal_size " + (try fixture.cluster.psql(database: "postgres", "SHOW max_wal_size")).trimmingCharacters(in: .whitespacesAndNewlines))
        let log = NSTemporaryDirectory() + "fuelwarden-load-\(UInt32.random(in: 0...UInt32.max)).log"
        let daemon = DaemonProcess(executable: executable, databaseURL: fixture.url, port: try ThrowawayCluster.freePort(), logPath: log,
                                   environment: ["FUELWARDEN_INGEST_MAX_BODY_BYTES": "\(4 * 1024 * 1024)"])
        try daemon.start()
        defer { daemon.stop() }
        print("• fuelwarden serve (pid \(daemon.pid ?? 0)) on 127.0.0.1:\(daemon.port), detection on; its log: \(log)")

        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        do {
            let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
            try await daemon.waitUntilReady(client: client)
            let connections = try await LoadConnections.open(host: "127.0.0.1", port: daemon.port, count: min(maxInFlight, connections))
            let steps: [Step]
            do {
                steps = try await fixture.withDatabase(logger: logger) { db in
                    try await measure(connections: connections, metrics: client, pid: daemon.pid ?? 0, keys: fixture.keys, registry: fixture.registry, database: db)
                }
            } catch {
                await connections.close()
                throw error
            }
            await connections.close()
            try await http.shutdown()
            return steps
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// The daemon's group-commit totals (batches, requests) and detection passes (by where each
    /// station's state came from), from its metrics.
    private func commits(_ client: FuelwardenClient) async -> (batches: Double, requests: Double, passesFromMemory: Double, passesFromDatabase: Double) {
        guard let text = try? await client.send(.GET, "/metrics", token: nil).1 else { return (0, 0, 0, 0) }
        func value(_ name: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        return (value("fuelwarden_append_batches_total"), value("fuelwarden_append_batched_requests_total"),
                value(#"fuelwarden_detector_state_reads_total{from="memory"}"#), value(#"fuelwarden_detector_state_reads_total{from="database"}"#))
    }

    private func measure(connections: LoadConnections, metrics: FuelwardenClient, pid: Int32, keys: [String: String], registry: Registry,
                         database: FuelDatabase) async throws -> [Step] {
        let generator = LoadLines(stations: registry.stations.map(\.id))
        var steps: [Step] = []
        for rate in rates {
            print(String(format: "• %.0f records/s for %.0f s (%d stations, %d records a request) …", rate, seconds, stations, batch))
            let before = await commits(metrics)
            let step = try await self.step(rate: rate, connections: connections, keys: keys, generator: generator, pid: pid, sampling: database)
            let after = await commits(metrics)
            steps.append(step)
            print(Self.describe(step))
            print(Self.describeServer(step))
            let batches = after.batches - before.batches
            if batches > 0 {
                print(String(format: "  group commit: %.0f transactions, %.1f pushes each on average", batches, (after.requests - before.requests) / batches))
            }
            let fromMemory = after.passesFromMemory - before.passesFromMemory, fromDatabase = after.passesFromDatabase - before.passesFromDatabase
            print(String(format: "  detection: %.0f station passes (%.0f a second), %.0f of them from the state held in memory, %.0f read from the database",
                         fromMemory + fromDatabase, (fromMemory + fromDatabase) / seconds, fromMemory, fromDatabase))
            if step.p99 > 1 || Double(step.errors) > Double(step.requests) * 0.05 { break }
        }
        return steps
    }

    package static func describe(_ s: Step) -> String {
        let over = s.secondP99s.filter { $0 > target }.count
        return String(format: "  sustained %.0f records/s (%d requests, %d errors), latency p50 %.1f ms, p99 %.1f ms; worst second's p99 %.0f ms, %d of %d seconds over %.0f ms; daemon peak RSS %.0f MB",
                      Double(s.records) / s.seconds, s.requests, s.errors, s.p50 * 1000, s.p99 * 1000, (s.secondP99s.max() ?? .nan) * 1000, over,
                      s.secondP99s.count, target * 1000, Double(s.peakRSSBytes) / 1_048_576)
    }

    /// The seconds over the target (else the two worst) beside a typical second of the step: what
    /// the machine and PostgreSQL were doing when pushes stalled.
    static func describeServer(_ s: Step) -> String {
        guard !s.server.isEmpty else { return "" }
        var lines = ["  a typical second: " + StepSampler.describe(StepSampler.typical(s.server))]
        var shown = zip(s.secondNumbers, s.secondP99s).filter { $0.1 > target }
        if shown.isEmpty { shown = Array(zip(s.secondNumbers, s.secondP99s).sorted { $0.1 > $1.1 }.prefix(2)).sorted { $0.0 < $1.0 } }
        // A saturated step is bad all through: its first dozen bad seconds say as much as all of them.
        for (i, p99) in shown.prefix(12) where i < s.server.count {
            lines.append(String(format: "  second %d, p99 %.0f ms: ", i, p99 * 1000) + StepSampler.describe(s.server[i]))
        }
        if shown.count > 12 { lines.append("  … and \(shown.count - 12) more seconds over \(Int(target * 1000)) ms") }
        return lines.joined(separator: "\n")
    }

    /// Issue 19's bar for a rate to count as held: p99 within 250 ms and no errors.
    package static let target = 0.25

    package func held(_ s: Step) -> Bool { s.p99 <= Self.target && s.errors == 0 }

    /// One step: pushes at `rate` for ``seconds`` through `connections` (also `bench growth`'s ingest figure).
    func step(rate: Double, connections: LoadConnections, keys: [String: String], generator: LoadLines, pid: Int32,
              sampling database: FuelDatabase? = nil) async throws -> Step {
        let requestsPerSecond = rate / Double(batch)
        let total = Int(requestsPerSecond * seconds)
        let monitor = Task {
            var peak = 0
            while !Task.isCancelled {
                peak = max(peak, ProcessMemory.residentBytes(pid: pid))
                try? await Task.sleep(for: .milliseconds(250))
            }
            return peak
        }
        let recorder = StepRecorder()
        let answered = AsyncStream<Void>.makeStream()
        var refused = 0
        // Every request of the step is built before it starts: the generator shares the two cores,
        // so its JSON encoding must not count against the daemon.
        let host = "127.0.0.1:\(connections.port)"
        let prepared = (0..<total).map { _ -> (HTTPRequestHead, ByteBuffer, Int) in
            let (station, lines) = generator.next(batch)
            var body = ByteBuffer()
            for line in lines {
                body.writeString(line)
                body.writeInteger(UInt8(ascii: "\n"))
            }
            let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/stations/\(station)/records", headers: [
                "Host": host, "Authorization": "Bearer \(keys[station] ?? "")", "Content-Type": "application/x-ndjson",
                "Content-Length": "\(body.readableBytes)",
            ])
            return (head, body, lines.count)
        }
        let launched = ContinuousClock.now
        let sampler = StepSampler(pid: pid)
        let sampling = database.map { db in Task { await sampler.run(database: db, origin: launched) } }
        for (i, (head, body, count)) in prepared.enumerated() {
            let due = launched.advanced(by: .seconds(Double(i) / requestsPerSecond))
            // Sleep only when a millisecond or more ahead: a timer per request would cost the generator more than the request.
            if due - ContinuousClock.now > .milliseconds(1) { try? await Task.sleep(until: due, clock: .continuous) }
            guard connections.inFlight < maxInFlight else {
                refused += 1
                continue
            }
            let second = i * batch / max(1, Int(rate))
            connections.send(.init(head: head, body: body) { status in
                recorder.record(latency: (ContinuousClock.now - due) / .seconds(1), second: second, records: count, ok: status == 200)
                answered.continuation.yield()
            })
        }
        // Wait for the answers still out (each is counted, late or not); after a minute, the rest count as errors.
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                answered.continuation.yield()
            }
        }
        let sent = ContinuousClock.now
        var it = answered.stream.makeAsyncIterator()
        while total - refused - recorder.count > 0, ContinuousClock.now - sent < .seconds(60) { _ = await it.next() }
        ticker.cancel()
        let unanswered = total - refused - recorder.count
        var step = recorder.step(rate: rate, seconds: seconds)
        step.requests += refused + unanswered
        step.errors += refused + unanswered
        monitor.cancel()
        step.peakRSSBytes = await monitor.value
        sampling?.cancel()
        _ = await sampling?.value
        step.server = sampler.seconds()
        step.seconds = max(seconds, (ContinuousClock.now - launched) / .seconds(1))
        return step
    }
}

/// Valid push lines for many stations, round robin: each station's records follow its own data
/// clock (``SyntheticLines``) and its own rising seq.
final class LoadLines: @unchecked Sendable {
    private let lock = NSLock()
    private let stations: [String]
    private var next = 0
    private var seq: [Int64]
    private let synthetic = SyntheticLines(start: Timestamp(.now).adding(seconds: -86_400))

    init(stations: [String]) {
        self.stations = stations
        seq = Array(repeating: 0, count: stations.count)
    }

    func next(_ count: Int) -> (String, [String]) {
        lock.lock()
        let i = next
        next = (next + 1) % stations.count
        let first = seq[i]
        seq[i] += Int64(count)
        lock.unlock()
        let lines = (0..<count).map { synthetic.line(seq: first + Int64($0) + 1) }
        return (stations[i], lines)
    }
}

/// Request outcomes from many tasks.
final class StepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Double] = []
    /// Latencies by the second (since the step began) the request was due in.
    private var bySecond: [Int: [Double]] = [:]
    private var records = 0
    private var requests = 0
    private var errors = 0

    func record(latency: Double, second: Int, records n: Int, ok: Bool) {
        lock.lock()
        defer { lock.unlock() }
        requests += 1
        if ok {
            latencies.append(latency)
            bySecond[second, default: []].append(latency)
            records += n
        } else {
            errors += 1
        }
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    func step(rate: Double, seconds: Double) -> LoadBenchmark.Step {
        lock.lock()
        defer { lock.unlock() }
        var s = LoadBenchmark.Step(rate: rate, seconds: seconds)
        s.latencies = latencies
        s.secondNumbers = bySecond.keys.sorted()
        s.secondP99s = s.secondNumbers.map { bySecond[$0]!.quantile(0.99) ?? .nan }
        s.records = records
        s.requests = requests
        s.errors = errors
        return s
    }
}
