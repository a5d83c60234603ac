import AsyncHTTPClient
import FuelAgent
import FuelModel
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import NIOCore
import PostgresNIO
import Testing

/// The station agent end to end against a real daemon and PostgreSQL: an emulated Veeder-Root
/// console and a drop directory at the station; the agent spools and uploads; every reading and
/// every good line lands in the ledger exactly once, files move to `done/` only once acknowledged,
/// a bad line is reported in `rejected/`; with the cloud away the spool holds everything and
/// drains, in order, when it is back.
@Suite(.serialized) struct StationAgentTests {
    static let station = "LN-SY-0001"

    struct Place {
        let root: String
        var keyFile: String { root + "/station.key" }
        var spool: String { root + "/spool" }
        var drop: String { root + "/drop" }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("fw-agent-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root + "/drop", withIntermediateDirectories: true)
        }

        /// Writes a drop file as a sales system should: under a temporary name, then renamed.
        func drop(_ name: String, _ text: String) throws {
            try text.write(toFile: drop + "/." + name + ".tmp", atomically: false, encoding: .utf8)
            try FileManager.default.moveItem(atPath: drop + "/." + name + ".tmp", toPath: drop + "/" + name)
        }
    }

    static func config(_ place: Place, cloud: String, consolePort: Int?) -> AgentConfigFile {
        var c = AgentConfigFile(cloudURL: cloud, station: station, keyFile: place.keyFile, spoolDirectory: place.spool)
        c.allowPlainHTTP = true
        c.statusPort = 0
        c.dropDirectory = place.drop
        c.dropScanSeconds = 0.1
        c.maxBackoffSeconds = 1
        c.requestTimeoutSeconds = 5
        if let consolePort {
            c.consoles = [FeedsFile.ATGConsole(station: station, host: "127.0.0.1", port: consolePort, intervalSeconds: 1)]
        }
        return c
    }

    /// Runs the agent until `body` returns; yields its status port (or, with `hj212Port`, its HJ 212 listener's).
    static func withAgent(_ config: AgentConfigFile, hj212Port: Bool = false,
                          _ body: @escaping @Sendable (Int, AgentSpool) async throws -> Void) async throws {
        let agent = try StationAgent(config: config, logger: TestPostgres.logger)
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        let (group, client) = try agent.serviceGroup(onStatusPort: { if !hj212Port { cont.yield($0) } },
                                                     onHJ212Port: { if hj212Port { cont.yield($0) } })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var it = ports.makeAsyncIterator()
            let port = try #require(await it.next())
            do {
                try await body(port, agent.spool)
            } catch {
                await group.triggerGracefulShutdown()
                try? await client.shutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await client.shutdown()
    }

    static func waitFor(_ what: String, seconds: Double = 20, _ check: @Sendable () async throws -> Bool) async throws {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
    }

    static func pushed(_ d: TestDaemon) async throws -> Int64 {
        try await FeedTests.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(station) AND source = 'push'")
    }

    @Test func consoleAndDropDirectoryReachTheLedgerOnceAndSurviveTheCloudBeingAway() async throws {
        let place = try Place()
        defer { try? FileManager.default.removeItem(atPath: place.root) }
        try await TestDaemon.with { d in
            let key = try await d.token(.station, station: Self.station)
            try key.write(toFile: place.keyFile, atomically: true, encoding: .utf8)
            // The key file must be private.
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: place.keyFile)
            #expect { _ = try StationAgent.readKey(place.keyFile) } throws: { "\($0)".contains("chmod 600") && !"\($0)".contains(key) }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: place.keyFile)

            try place.drop("prices-1.ndjson", """
                {"kind":"price_change","grade":"92","unit_price":7.85,"effective_at":"2026-11-01T00:00:00+08:00"}
                {"kind":"price_change","grade":"95","unit_price":8.35,"effective_at":"2026-11-01T00:00:00+08:00"}
                this line is not a record
                """)
            try place.drop("totals-1.csv", """
                kind,nozzle,at,volume_total_l,amount_total
                totalizer_reading,N1,2026-11-01T08:00:00+08:00,120034.1,942267.69
                totalizer_reading,N1,2026-11-01T09:00:00+08:00,120134.1,
                """)
            try await FeedTests.withEmulator { consolePort in
                try await Self.withAgent(Self.config(place, cloud: d.client.baseURL, consolePort: consolePort)) { statusPort, spool in
                    // The four good lines, and console readings of all four tanks.
                    try await Self.waitFor("the drop files in the ledger") { try await Self.pushed(d) >= 4 + 4 }
                    try await Self.waitFor("both files done") {
                        FileManager.default.fileExists(atPath: place.drop + "/done/prices-1.ndjson")
                            && FileManager.default.fileExists(atPath: place.drop + "/done/totals-1.csv")
                    }
                    let report = try String(contentsOfFile: place.drop + "/rejected/prices-1.ndjson.txt", encoding: .utf8)
                    #expect(report.contains("line 3:") && report.contains("this line is not a record"))
                    // The agent's status over HTTP.
                    let status = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(statusPort)/status"), timeout: .seconds(5))
                    let body = String(buffer: try await status.body.collect(upTo: 1 << 20))
                    #expect(status.status == .ok && body.contains("\"acknowledged_seq\"") && body.contains("poll:") == false)
                    let metrics = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(statusPort)/metrics"), timeout: .seconds(5))
                    #expect(String(buffer: try await metrics.body.collect(upTo: 1 << 20)).contains("fuelwarden_agent_spooled_records"))
                    #expect(try spool.snapshot().sources.contains { $0.name.hasPrefix("atg:") })
                }
            }
            // Exactly once: the pushed seqs are dense from 1, and no reading is there twice.
            let seqs = try await d.db.client.query("""
                SELECT count(*), count(DISTINCT source_seq), min(source_seq), max(source_seq),
                       count(DISTINCT body::jsonb->>'tank' || (body::jsonb->>'at')) FILTER (WHERE kind = 'tank_reading'),
                       count(*) FILTER (WHERE kind = 'tank_reading')
                FROM ledger WHERE station = \(Self.station) AND source = 'push'
                """).collect().first?.decode((Int64, Int64, Int64, Int64, Int64, Int64).self)
            let (n, distinct, first, last, readings, readingRows) = try #require(seqs)
            #expect(n == distinct && first == 1 && last == n && readings == readingRows && readings >= 4)

            // The cloud away (nothing listens there): the spool holds a new file's records; the
            // file waits in the drop directory.
            let before = try await Self.pushed(d)
            try place.drop("prices-2.ndjson", """
                {"kind":"price_change","grade":"0","unit_price":7.40,"effective_at":"2026-11-02T00:00:00+08:00"}
                """)
            try await Self.withAgent(Self.config(place, cloud: "http://127.0.0.1:9", consolePort: nil)) { _, spool in
                try await Self.waitFor("the new file spooled") { try spool.snapshot().spooledRecords == 1 }
                try await Self.waitFor("a failed upload noted") { try spool.snapshot().lastUpload?.contains("failed") == true }
            }
            #expect(FileManager.default.fileExists(atPath: place.drop + "/prices-2.ndjson"))
            #expect(try await Self.pushed(d) == before)
            // Back: it drains, with the next seq, and the file is done.
            try await Self.withAgent(Self.config(place, cloud: d.client.baseURL, consolePort: nil)) { _, spool in
                try await Self.waitFor("the spool drained") { try spool.snapshot().spooledRecords == 0 }
                try await Self.waitFor("the file done") { FileManager.default.fileExists(atPath: place.drop + "/done/prices-2.ndjson") }
            }
            #expect(try await Self.pushed(d) == before + 1)
            #expect(try await FeedTests.count(d.db, "SELECT max(source_seq) FROM ledger WHERE station = \(Self.station) AND source = 'push'") == before + 1)
            #expect(try await ChainAudit(database: d.db).verify(station: Self.station).isIntact)
        }
    }
}
