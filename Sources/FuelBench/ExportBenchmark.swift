import AsyncHTTPClient
import Foundation
import FuelAsync
import FuelLab
import FuelLedger
import FuelModel
import FuelPostgresFixture
import FuelService
import FuelSim
import FuelStore
import FuelWire
import Logging
import NIOCore

/// `fuelwarden bench export`: a station-year (issue 5: ~75k sales and ~2M tank readings) streamed
/// through `GET /v1/stations/{id}/history`, against `psql` running `COPY … TO STDOUT` on the same
/// rows, with the daemon's memory sampled while it streams.
package struct ExportBenchmark: Sendable {
    package var sales = 75_000
    package var readings = 2_000_000
    package var format = HistoryFormat.ndjson
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(logger: Logger, print: @escaping @Sendable (String) -> Void = { Swift.print($0) }) {
        self.logger = logger
        self.print = print
    }

    package struct Result: Sendable {
        package var records: Int
        package var bytes: Int
        /// The second export, complete chunks from the cache.
        package var seconds: Double
        /// The first export, every chunk from PostgreSQL.
        package var coldSeconds: Double
        package var copySeconds: Double
        package var peakRSSGrowthMB: Double
    }

    @discardableResult
    package func run() async throws -> Result {
        #if DEBUG
        print("warning: this is a debug build; time a release build: swift run -c release fuelwarden bench export")
        #endif
        let cluster = try ThrowawayCluster()
        defer { cluster.stop() }
        try cluster.createDatabase("bench_export")
        let url = cluster.url(database: "bench_export")
        var quiet = logger
        quiet.logLevel = .warning
        let yaml = DemoRegistry.yaml(stations: 1)
        try await IngestBenchmark.prepare(url: url, yaml: yaml, logger: quiet)
        let station = try RegistryFileDecoder.decode(yaml: yaml).stations[0]

        var config = FuelwardenConfig()
        config.database.url = url
        config.http.port = 0
        config.logLevel = .warning
        config.detect.enabled = false
        let cacheDir = FileManager.default.temporaryDirectory.appendingPathComponent("fuelwarden-history-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cacheDir) }
        config.history.cacheDir = cacheDir
        let components = try FuelwardenComponents(config: config, logger: quiet)
        let (listening, cont) = AsyncStream.makeStream(of: Int.self)
        let group = FuelwardenDaemon.serviceGroup(components: components, logger: quiet) { cont.yield($0) }
        return try await withThrowingTaskGroup(of: Result?.self) { tasks -> Result in
            tasks.addTask { try await group.run(); return nil }
            defer { tasks.cancelAll() }
            var it = listening.makeAsyncIterator()
            guard let port = await it.next() else { throw StoreError.unavailable("daemon did not start") }

            let loadStart = ContinuousClock.now
            let (total, saleCount) = try await load(station: station, into: LedgerStore(database: components.database))
            print(String(format: "loaded       : %d records of %@ (%d sales, %d tank readings) in %.1f s through the append path",
                         total, station.id, saleCount, total - saleCount, (ContinuousClock.now - loadStart).inSeconds))
            _ = try cluster.psql(database: "bench_export", "VACUUM ANALYZE ledger")

            // Our export, over HTTP, as an inspector's client reads it: first from PostgreSQL (which fills
            // the chunk cache), then again (complete chunks from the cache).
            let token = try await TokenStore(database: components.database).issue(role: .inspector, station: nil, name: "bench")
            let url = "http://127.0.0.1:\(port)/v1/stations/\(station.id)/history?format=\(format.rawValue)"
            let before = RSSSampler.currentMB()
            let cold = try await Self.download(url, token: token, expect: total, format: format)
            let warm = try await Self.download(url, token: token, expect: total, format: format)
            let seconds = warm.seconds, bytes = warm.bytes, peak = max(cold.peakMB, warm.peakMB)

            // The same rows as PostgreSQL itself writes them out.
            let copyStart = ContinuousClock.now
            let status = try SpawnedProcess.run([
                cluster.binDirectory + "/psql", "-X", "-q", "-h", "127.0.0.1", "-p", "\(cluster.port)", "-U", "postgres", "-d", "bench_export", "-c",
                "COPY (SELECT chain_seq, source, source_seq, kind, at, encode(hash, 'hex'), body FROM ledger WHERE station = '\(station.id)' ORDER BY chain_seq) TO STDOUT",
            ], output: "/dev/null")
            guard status == 0 else { throw StoreError.invalid("psql COPY failed (\(status))") }
            let copySeconds = (ContinuousClock.now - copyStart).inSeconds

            let r = Result(records: total, bytes: bytes, seconds: seconds, coldSeconds: cold.seconds, copySeconds: copySeconds, peakRSSGrowthMB: max(0, peak - before))
            print(String(format: "our export   : %d records, %.0f MB %@ over HTTP: %.2f s from PostgreSQL (%.0f records/s), %.2f s again with its chunks cached (%.0f records/s, %.0f MB/s)",
                         total, Double(bytes) / 1e6, format.rawValue, cold.seconds, Double(total) / cold.seconds, seconds, Double(total) / seconds,
                         Double(bytes) / 1e6 / seconds))
            print(String(format: "psql COPY    : the same rows in %.2f s (PostgreSQL writing them to a local client)", copySeconds))
            print(String(format: "ratio        : %.2f (from PostgreSQL) and %.2f (cached) of COPY's speed; goal: a station-year in < 2 s: %@",
                         copySeconds / cold.seconds, copySeconds / seconds, seconds < 2 ? "met with the cache" : "missed"))
            print(String(format: "memory       : process RSS %.0f MB before, peak %.0f MB while streaming (+%.0f MB)", before, peak, r.peakRSSGrowthMB))
            await group.triggerGracefulShutdown()
            while try await tasks.next() != nil {}
            return r
        }
    }

    /// One whole-chain export read as a client would: records counted, the chain-head line checked,
    /// this process's RSS sampled meanwhile.
    static func download(_ url: String, token: String, expect total: Int, format: HistoryFormat) async throws -> (seconds: Double, bytes: Int, peakMB: Double) {
        let sampler = RSSSampler()
        let sampling = Task { await sampler.run() }
        let start = ContinuousClock.now
        var req = HTTPClientRequest(url: url)
        req.headers.add(name: "Authorization", value: "Bearer \(token)")
        let res = try await HTTPClient.shared.execute(req, timeout: .seconds(600))
        guard res.status.code == 200 else { throw StoreError.invalid("history answered \(res.status.code)") }
        var bytes = 0, lines = 0
        var tail: [UInt8] = []
        for try await chunk in res.body {
            bytes += chunk.readableBytes
            chunk.withUnsafeReadableBytes { raw in
                for b in raw where b == 0x0A { lines += 1 }
                tail = Array(raw.suffix(200))
            }
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        sampling.cancel()
        let peak = await sampling.value
        // NDJSON ends with the chain-head line, CSV starts with its header line.
        guard lines - 1 == total else { throw StoreError.invalid("history had \(lines - 1) records, the ledger \(total)") }
        if format == .ndjson, !String(decoding: tail, as: UTF8.self).contains("\"chain_head\":{\"seq\":\(total)") {
            throw StoreError.invalid("the export did not end with the chain head")
        }
        return (seconds, bytes, peak)
    }

    /// A station-year: a tank reading per tank every few minutes and the sales spread over the year,
    /// appended day by day through the ledger's own append.
    func load(station: Station, into ledger: LedgerStore) async throws -> (records: Int, sales: Int) {
        let start = Timestamp(rfc3339: "2025-01-01T00:00:00+08:00")!
        let tanks = station.tanks.map(\.id)
        let days = 365
        let readingsPerTankDay = max(1, (readings + tanks.count * days - 1) / (tanks.count * days))
        let readingStep = 86_400.0 / Double(readingsPerTankDay)
        let salesPerDay = max(1, (sales + days - 1) / days)
        let saleStep = 86_400.0 / Double(salesPerDay)
        var seq: Int64 = 0
        var total = 0, saleCount = 0
        for day in 0..<days {
            var batch: [IncomingRecord] = []
            let dayStart = start.adding(seconds: Double(day) * 86_400)
            for i in 0..<readingsPerTankDay {
                for (k, tank) in tanks.enumerated() {
                    seq += 1
                    let v = 15_000 + 5_000 * sin(Double(i) / Double(readingsPerTankDay) * 6.283) + Double(k) * 100
                    let r = Record.tankReading(TankReading(tank: tank, at: dayStart.adding(seconds: Double(i) * readingStep), volumeL: (v * 10).rounded() / 10,
                                                           tcVolumeL: (v * 9.98).rounded() / 10, waterMM: 3, temperatureC: 14.5))
                    batch.append(IncomingRecord(line: batch.count + 1, raw: "", source: .push, sourceSeq: seq, record: r))
                }
            }
            for i in 0..<salesPerDay {
                seq += 1
                let at = dayStart.adding(seconds: Double(i) * saleStep)
                let litres = Double(20 + (i * 7) % 40)
                let r = Record.sale(Sale(nozzle: "N\(1 + i % 8)", grade: "92", volumeL: litres, unitPrice: 7.89, amount: (litres * 789).rounded() / 100,
                                         startedAt: at, endedAt: at.adding(seconds: 60), receiptNo: "R\(seq)"))
                batch.append(IncomingRecord(line: batch.count + 1, raw: "", source: .push, sourceSeq: seq, record: r))
            }
            let outcome = try await ledger.append(station: station.id, records: batch, rejected: [])
            total += outcome.accepted
            saleCount += outcome.appendedByKind[.sale] ?? 0
        }
        return (total, saleCount)
    }
}

/// Samples this process's resident set every 20 ms until cancelled; returns the peak in MB.
final class RSSSampler: Sendable {
    static func currentMB() -> Double { Double(ProcessMemory.residentBytes()) / 1_048_576 }

    func run() async -> Double {
        var peak = Self.currentMB()
        while !Task.isCancelled {
            peak = max(peak, Self.currentMB())
            try? await Task.sleep(for: .milliseconds(20))
        }
        return max(peak, Self.currentMB())
    }
}
