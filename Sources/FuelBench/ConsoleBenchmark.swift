import AsyncHTTPClient
import Foundation
import FuelLab
import FuelModel
import FuelPostgresFixture
import FuelService
import FuelSim
import FuelStore
import FuelWire
import Logging
import NIOCore

/// `fuelwarden bench console`: the console's pages timed against a province's worth of data — 4,000
/// stations, 20,000 open alerts, a station-year of tank readings — on a throwaway PostgreSQL:
/// p50/p99 of the alerts board (first page and a page 10,000 alerts deep), the station page with
/// its charts (7-day and 365-day windows), the province page, their weight, and how long a new
/// alert takes to reach a Server-Sent Events client after its commit.
package struct ConsoleBenchmark: Sendable {
    package var stations = 4_000
    package var alerts = 20_000
    package var readings = 420_000
    package var requests = 40
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(logger: Logger, print: @escaping @Sendable (String) -> Void = { Swift.print($0) }) {
        self.logger = logger
        self.print = print
    }

    package func run() async throws {
        #if DEBUG
        print("warning: this is a debug build; time a release build: swift run -c release fuelwarden bench console")
        #endif
        let cluster = try ThrowawayCluster()
        defer { cluster.stop() }
        try cluster.createDatabase("bench_console")
        let url = cluster.url(database: "bench_console")
        var quiet = logger
        quiet.logLevel = .warning
        let yaml = DemoRegistry.yaml(stations: stations)
        try await IngestBenchmark.prepare(url: url, yaml: yaml, logger: quiet)
        let registry = try RegistryFileDecoder.decode(yaml: yaml)
        let station = registry.stations[0]

        var config = FuelwardenConfig()
        config.database.url = url
        config.http.port = 0
        config.logLevel = .warning
        config.detect.enabled = false
        let components = try FuelwardenComponents(config: config, logger: quiet)
        let (listening, cont) = AsyncStream.makeStream(of: Int.self)
        let group = FuelwardenDaemon.serviceGroup(components: components, logger: quiet) { cont.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            var it = listening.makeAsyncIterator()
            guard let port = await it.next() else { throw StoreError.unavailable("daemon did not start") }
            let base = "http://127.0.0.1:\(port)"

            // A station-year of readings (and its sales) through the append path; alerts straight into the table.
            let loadStart = ContinuousClock.now
            var export = ExportBenchmark(logger: quiet, print: print)
            export.readings = readings
            let (total, _) = try await export.load(station: station, into: LedgerStore(database: components.database))
            _ = try cluster.psql(database: "bench_console", """
                INSERT INTO alerts (fingerprint, rule, station, subject, severity, status, opened_at, raised_at, evidence)
                SELECT 'bench/' || g, (ARRAY['leak_suspected','telemetry_gap','price_above_ceiling','undeclared_delivery'])[1 + g % 4],
                       (ARRAY[\(registry.stations.map { "'\($0.id)'" }.joined(separator: ","))])[1 + g % \(registry.stations.count)],
                       'T' || (1 + g % 4), (ARRAY['info','warning','critical'])[1 + g % 3], 'open',
                       timestamptz '2025-01-01' + g * interval '20 minutes', timestamptz '2025-01-01' + g * interval '20 minutes',
                       '{"bench": true}'::jsonb
                FROM generate_series(1, \(alerts)) g
                """)
            // A year of the daily figures detection keeps, for every tank and nozzle of the charted station.
            let subjects = station.tanks.flatMap { ["('reconciliation_variance','\($0.id)')", "('leak_rate','\($0.id)')"] }
                + station.nozzles.map { "('meter_error','\($0.id)')" }
            _ = try cluster.psql(database: "bench_console", """
                INSERT INTO daily_figures (station, kind, subject, day, at, value, low, high, band_low, band_high, method)
                SELECT '\(station.id)', k, s, d::date, d + interval '23 hours', sin(extract(doy FROM d)) * 20,
                       sin(extract(doy FROM d)) * 20 - 5, sin(extract(doy FROM d)) * 20 + 5, -30, 30, 'quiet_segments'
                FROM (VALUES \(subjects.joined(separator: ","))) AS f(k, s),
                     generate_series((SELECT max(at) FROM ledger WHERE station = '\(station.id)')::date - 364,
                                     (SELECT max(at) FROM ledger WHERE station = '\(station.id)')::date, interval '1 day') d
                """)
            _ = try cluster.psql(database: "bench_console", "VACUUM ANALYZE")
            print(String(format: "loaded       : %d stations, %d records of %@ (a station-year) with a year of daily figures, %d open alerts in %.0f s",
                         stations, total, station.id, alerts, (ContinuousClock.now - loadStart).inSeconds))

            let token = try await TokenStore(database: components.database).issue(role: .inspector, station: nil, name: "bench")
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
            let cookie = try await Self.signIn(http, base: base, token: token)

            // The page 10,000 alerts deep: follow the board's `next` links (50 a page).
            var deep = "/console/alerts?status=active"
            for _ in 0..<(alerts / 2 / 50) {
                let page = try await Self.get(http, base + deep, cookie: cookie)
                guard let next = Self.nextLink(page.body) else { break }
                deep = next
            }
            let pages: [(String, String)] = [
                ("alerts board, first page", "/console/alerts"),
                ("alerts board, 10,000 deep", deep),
                ("station page, 7-day charts", "/console/stations/\(station.id)?days=7"),
                ("station page, 365-day charts", "/console/stations/\(station.id)?days=365"),
                ("province by city", "/console/cities?year=2026&quarter=4"),
                ("alert page", "/console/alerts/1"),
            ]
            print("page                            p50 ms   p99 ms   max ms    KB   (\(requests) requests each, sequential)")
            var worst = 0.0
            for (name, path) in pages {
                var times: [Double] = []
                var bytes = 0
                for _ in 0..<requests {
                    let start = ContinuousClock.now
                    let r = try await Self.get(http, base + path, cookie: cookie)
                    times.append((ContinuousClock.now - start).inSeconds * 1000)
                    guard r.status == 200 else { throw StoreError.invalid("\(path) answered \(r.status)") }
                    bytes = r.body.utf8.count
                }
                times.sort()
                let p99 = times[min(times.count - 1, Int((Double(times.count) * 0.99).rounded(.up)) - 1)]
                worst = max(worst, p99)
                print(name.padding(toLength: 30, withPad: " ", startingAt: 0)
                      + String(format: "%8.1f %8.1f %8.1f %6.0f", times[times.count / 2], p99, times.last ?? 0, Double(bytes) / 1024))
            }
            print(String(format: "goal         : p99 < 300 ms on every page (worst %.0f ms: %@), page weight < 300 KB", worst, worst < 300 ? "met" : "missed"))

            // Live: a committed alert reaches a stream client.
            var lags: [Double] = []
            var request = HTTPClientRequest(url: base + "/v1/alerts/stream")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let response = try await http.execute(request, timeout: .seconds(120))
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()  // retry:
            for i in 0..<10 {
                try await Task.sleep(for: .milliseconds(250))
                _ = try cluster.psql(database: "bench_console", """
                    INSERT INTO alerts (fingerprint, rule, station, subject, severity, status, opened_at, evidence)
                    VALUES ('bench/live/\(i)', 'telemetry_gap', '\(station.id)', 'gauges', 'warning', 'open', now(), '{}'::jsonb)
                    """)
                let committed = ContinuousClock.now
                while let chunk = try await iterator.next() {
                    if String(buffer: chunk).contains("event: alert") { break }
                }
                lags.append((ContinuousClock.now - committed).inSeconds * 1000)
            }
            lags.sort()
            print(String(format: "live stream  : a committed alert reached the SSE client in p50 %.0f ms, max %.0f ms (goal < 1 s: %@)",
                         lags[lags.count / 2], lags.last ?? 0, (lags.last ?? 0) < 1000 ? "met" : "missed"))
            try await http.shutdown()
            await group.triggerGracefulShutdown()
        }
    }

    static func signIn(_ http: HTTPClient, base: String, token: String) async throws -> String {
        var r = HTTPClientRequest(url: base + "/console/sign-in")
        r.method = .POST
        r.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        r.body = .bytes(ByteBuffer(string: "token=\(token)&next=%2Fconsole%2Falerts"))
        let res = try await http.execute(r, timeout: .seconds(30))
        guard let set = res.headers.first(name: "set-cookie"), let value = set.split(separator: ";").first else {
            throw StoreError.invalid("console sign-in answered \(res.status.code) without a cookie")
        }
        return String(value)
    }

    static func get(_ http: HTTPClient, _ url: String, cookie: String) async throws -> (status: Int, body: String) {
        var r = HTTPClientRequest(url: url)
        r.headers.add(name: "cookie", value: cookie)
        let res = try await http.execute(r, timeout: .seconds(120))
        let body = try await res.body.collect(upTo: 64 << 20)
        return (Int(res.status.code), String(buffer: body))
    }

    /// The board's "next page" link (HTML-escaped in the page).
    static func nextLink(_ html: String) -> String? {
        guard let r = html.range(of: #"<a href=""#, options: .backwards, range: html.range(of: #"id="next-page""#).map { html.startIndex..<$0.lowerBound })
        else { return nil }
        let href = html[r.upperBound...].prefix { $0 != "\"" }
        return href.replacingOccurrences(of: "&amp;", with: "&")
    }
}
