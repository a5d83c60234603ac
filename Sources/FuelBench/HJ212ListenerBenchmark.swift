import Foundation
import FuelAsync
import FuelGuomi
import FuelLab
import FuelModel
import FuelPostgresFixture
import FuelService
import FuelSim
import FuelStore
import FuelWire
import Logging
import NIOCore
import NIOPosix

/// `fuelwarden bench hj212`: the HJ 212 listener under many devices at once. A real daemon (in
/// process, its listener on TCP, a durable throwaway PostgreSQL, detection off so the listener's own
/// path is what is timed) and `connections` devices, each on its own connection sending `packets`
/// data uploads one after another and waiting for each answer (9014, sent only after the packet's
/// records are committed) — closed loop, as devices do. Editions: 2017 plain, 2025 SM4-encrypted.
package struct HJ212ListenerBenchmark: Sendable {
    package var connections = 500
    package var packets = 100
    package var editions: [HJ212.Version] = [.v2017, .v2025]
    /// Prints where a packet's records spend their time in the daemon (the append's stages).
    package var profile = false
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(logger: Logger, print: @escaping @Sendable (String) -> Void) {
        self.logger = logger
        self.print = print
    }

    package struct Result: Sendable {
        package var edition: HJ212.Version
        package var packets: Int
        package var seconds: Double
        package var p50: Double
        package var p99: Double
        package var rate: Double { Double(packets) / seconds }
    }

    static let key: [UInt8] = Array("bench-device-key".utf8)

    /// The MN of device `i` in `edition` (2025: a 24-hex-digit network code).
    static func mn(_ i: Int, _ edition: HJ212.Version) -> String {
        edition == .v2025 ? String(format: "B212%020X", i) : String(format: "VRB%06d", i)
    }

    @discardableResult
    package func run() async throws -> [Result] {
        #if DEBUG
        print("warning: this is a debug build; time a release build: swift run -c release fuelwarden bench hj212")
        #endif
        var results: [Result] = []
        for edition in editions { results.append(try await run(edition)) }
        return results
    }

    func run(_ edition: HJ212.Version) async throws -> Result {
        let cluster = try ThrowawayCluster(durable: true)
        defer { cluster.stop() }
        try cluster.createDatabase("bench_hj212")
        let url = cluster.url(database: "bench_hj212")
        // One monitor per station, as a province has them (several devices of one station would queue
        // on its chain head).
        let stations = connections
        let yaml = DemoRegistry.yaml(stations: stations)
        let registry = try RegistryFileDecoder.decode(yaml: yaml)
        let quiet = { var l = logger; l.logLevel = .warning; return l }()
        try await IngestBenchmark.prepare(url: url, yaml: yaml, logger: quiet)
        let devices = (0..<connections).map { i in
            FeedsFile.HJ212Device(mn: Self.mn(i, edition), station: registry.stations[i % stations].id, password: "123456",
                                  factors: HJ212FactorMap(alRatio: ["q01": "N1"], tankPressure: ["p01": "T1"]),
                                  sm4Key: edition == .v2025 ? Self.key : nil)
        }
        var config = FuelwardenConfig()
        config.database.url = url
        config.http.port = 0
        config.logLevel = .warning
        config.detect.enabled = false
        config.database.maxConnections = 20
        config.feeds.hj212Enabled = true
        config.feeds.hj212.port = 0
        config.feeds.hj212.maxConnections = connections + 16
        let stages = profile ? IngestProfile() : nil
        let components = try FuelwardenComponents(config: config, logger: quiet, feeds: FeedsFile(consoles: [], devices: devices), profile: stages)
        let group = FuelwardenDaemon.serviceGroup(components: components, logger: quiet) { _ in }
        // Taken out of `components` before the task group: read through the struct the group's closure
        // captured, `listening` was a bad pointer in the release build (segfault at every run of
        // `bench hj212`, Swift 6.3.1, 2026-12-06; the debug build and the daemon were not affected).
        let listening = components.listening, database = components.database
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            var port: Int?
            for _ in 0..<200 where port == nil {
                port = listening.hj212
                if port == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            guard let port else { throw StoreError.unavailable("HJ 212 listener did not start") }
            let cipher = try SM4(key: Self.key)
            // Every device's packets, framed before the clock starts.
            let frames: [[[UInt8]]] = try (0..<connections).map { i in
                try (0..<packets).map { k in
                    // A minute each from 2026-12-01 08:00 (Beijing), over days for long runs.
                    let minutes = 8 * 60 + k
                    let dt = String(format: "202612%02d%02d%02d00", 1 + minutes / 1440, minutes / 60 % 24, minutes % 60)
                    let segment = "QN=\(dt)000;ST=31;CN=2051;PW=123456;MN=\(Self.mn(i, edition));Flag=\(edition == .v2025 ? 9 : 5);"
                        + "CP=&&DataTime=\(dt);q01-Avg=1.0\(k % 10),q01-Flag=N;p01-Avg=-\(100 + k),p01-Flag=N&&"
                    return edition == .v2025 ? try HJ212.frame(dataSegment: segment, encryptBlocks: cipher.encryptBlocks) : HJ212.frame(dataSegment: segment)
                }
            }
            print("\(edition.rawValue)\(edition == .v2025 ? " (SM4-encrypted CP)" : " (plain)"): \(connections) devices × \(packets) packets, each answered after commit …")
            let (latencies, seconds) = try await HJ212BenchDevices.run(port: port, frames: frames)
            let stored = try await database.connection("count") { conn in
                try await conn.query("SELECT count(*) FROM ledger WHERE source = 'hj212'", logger: quiet).collect().first?.decode(Int64.self) ?? 0
            }
            await group.triggerGracefulShutdown()
            while let r = try await tasks.next() { if r != nil { break } }
            let result = Result(edition: edition, packets: latencies.count, seconds: seconds,
                                p50: latencies.quantile(0.5) ?? 0, p99: latencies.quantile(0.99) ?? 0)
            print(String(format: "  %.0f packets/s (%d in %.2f s), answer latency p50 %.1f ms, p99 %.1f ms; %lld records stored (2 a packet)",
                         result.rate, result.packets, seconds, result.p50 * 1000, result.p99 * 1000, stored))
            if let stages { IngestBenchmark.printProfile(stages, clientSeconds: latencies.reduce(0, +), unit: "packets",
                                                       outside: "TCP, decoding and answering", print: print) }
            guard stored == Int64(2 * connections * packets) else {
                throw StoreError.invalid("expected \(2 * connections * packets) records, found \(stored)")
            }
            return result
        }
    }
}
