import FuelClient
import FuelGuomi
import FuelLab
import FuelModel
import FuelService
import FuelSim
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import FuelFixtures
import Testing

/// The device feeds end to end over real TCP: the daemon polls `ATGEmulator` (what
/// `fuelwarden atg-emulator` runs) and an HJ 212 client sends packets to its listener; records
/// land in the station's chain, bad packets are answered and quarantined, and a gauge outage
/// raises a telemetry-gap alert that resolves when the gauge answers again.
@Suite(.serialized) struct FeedTests {
    static let station = "LN-SY-0001"

    /// Runs an emulator for the first demo station until `body` returns; yields its port.
    static func withEmulator<T: Sendable>(port: Int = 0, settings configure: (inout ATGEmulator.Settings) -> Void = { _ in },
                                          _ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 3))
        var settings = ATGEmulator.Settings()
        settings.port = port
        settings.days = 1
        configure(&settings)
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        let emulator = ATGEmulator(station: registry.stations[0], settings: settings, logger: TestPostgres.logger) { cont.yield($0) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await emulator.run(); return nil }
            var it = ports.makeAsyncIterator()
            guard let p = await it.next() else { throw StoreError.unavailable("emulator did not start") }
            group.addTask { try await body(p) }
            defer { group.cancelAll() }
            while let r = try await group.next() { if let r { return r } }
            throw StoreError.unavailable("emulator stopped")
        }
    }

    static func hj212(_ port: Int, _ bytes: [UInt8], expectAnswers: Int = 1) async throws -> [HJ212.Packet] {
        try await HJ212Client(port: port).send(bytes, answers: expectAnswers)
    }

    static func packet(qn: String, password: String = "123456", mn: String = "VR0001", cp: String) -> [UInt8] {
        HJ212.frame(dataSegment: "QN=\(qn);ST=31;CN=2011;PW=\(password);MN=\(mn);Flag=5;CP=&&\(cp)&&")
    }

    static let mn2025 = "4A7F00C3B2E14D9A0F6C2B18"
    static let key2025: [UInt8] = Array("0123456789abcdef".utf8)

    /// A 2025 data upload with its CP encrypted under `key2025`, the ciphertext as text or raw bytes.
    static func encryptedPacket(qn: String, cp: String, text: Bool) throws -> [UInt8] {
        try HJ212.frame(dataSegment: "QN=\(qn);ST=31;CN=2011;PW=123456;MN=\(mn2025);Flag=9;CP=&&\(cp)&&",
                        encryptBlocks: SM4(key: key2025).encryptBlocks, as: text ? .text : .raw)
    }

    /// A daemon polling a console every second on a port reserved for the emulator (so the test can
    /// start and stop emulators on the same address), 1 s timeouts and backoff, plus `tweak`.
    static func withPolledConsole(tweak: @escaping @Sendable (inout FuelwardenConfig) -> Void,
                                  _ body: @escaping @Sendable (TestDaemon, Int) async throws -> Void) async throws {
        let atgPort = try await withEmulator { $0 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-feeds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let feedsPath = dir.appendingPathComponent("feeds.yaml").path
        try "atg_consoles:\n  - {station: \(station), host: 127.0.0.1, port: \(atgPort), interval_seconds: 1}\n"
            .write(toFile: feedsPath, atomically: true, encoding: .utf8)
        try await TestDaemon.with(stations: 3, tweak: { c in
            c.feeds.file = feedsPath
            c.feeds.atg.timeout = .seconds(1)
            c.feeds.atg.maxBackoff = .seconds(1)
            tweak(&c)
        }) { d in try await body(d, atgPort) }
    }

    static func count(_ db: FuelDatabase, _ sql: PostgresQuery) async throws -> Int64 {
        try await db.client.query(sql).collect().first?.decode(Int64.self) ?? -1
    }

    @Test func atgAndHJ212FeedTheChainAndBadPacketsAreAnsweredAndQuarantined() async throws {
        // A console that accepts connections and never answers: it must not hold up the other one.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let silentPort = try #require(silent.localAddress?.port)
        try await Self.withEmulator { atgPort in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-feeds-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let feedsPath = dir.appendingPathComponent("feeds.yaml").path
            try """
                atg_consoles:
                  - {station: \(Self.station), host: 127.0.0.1, port: \(silentPort), interval_seconds: 1}
                  - {station: \(Self.station), host: 127.0.0.1, port: \(atgPort), interval_seconds: 1}
                hj212_devices:
                  - {mn: VR0001, station: \(Self.station), password: "123456", al_ratio: {q01: N1, q02: N2}, tank_pressure: {p01: T1}}
                  - {mn: 010000A8900016F000169DC0, station: \(Self.station), password: "123456"}
                  - {mn: 0000000000000000000BEA70, station: LN-DL-0002, password: "123456"}
                  - {mn: \(Self.mn2025), station: \(Self.station), password: "123456", sm4_key: "\(Self.key2025.map { String(format: "%02x", $0) }.joined())", al_ratio: {q01: N1}}
                """.write(toFile: feedsPath, atomically: true, encoding: .utf8)

            try await TestDaemon.with(stations: 3, tweak: { c in
                c.feeds.file = feedsPath
                c.feeds.hj212Enabled = true
                c.feeds.hj212.port = 0
                c.feeds.atg.timeout = .seconds(1)
                c.feeds.atg.offlineAfterFailures = 2
                c.feeds.atg.maxBackoff = .seconds(1)
            }) { d in
                // The poller's readings arrive: every tank of the console, once per console minute
                // (polls within the same minute are duplicates by their natural key).
                var tanks: Int64 = 0
                for _ in 0..<100 where tanks < 4 {
                    try await Task.sleep(for: .milliseconds(100))
                    tanks = try await Self.count(d.db, "SELECT count(DISTINCT body::jsonb->>'tank') FROM ledger WHERE station = \(Self.station) AND source = 'atg' AND kind = 'tank_reading'")
                }
                #expect(tanks == 4)
                try await Task.sleep(for: .seconds(2))
                // One statement, one snapshot: a poll committing between two counts cannot split them.
                let both = try await d.db.client.query("""
                    SELECT (SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'atg' AND kind = 'tank_reading'),
                           (SELECT count(*) FROM collected_keys WHERE station = \(Self.station) AND source = 'atg'
                              AND natural_key NOT LIKE '%/status/%')  -- the console's status is collected too
                    """).collect().first?.decode((Int64, Int64).self)
                let (readings, keys) = both ?? (-1, -2)
                // At most three console minutes pass on a loaded machine; each adds four readings at most.
                #expect(readings == keys && readings % 4 == 0 && readings <= 12, "\(readings) readings, \(keys) keys")

                // HJ 212: a data packet is recorded and answered 9014; sent again it is a duplicate.
                var hjPort: Int?
                for _ in 0..<50 where hjPort == nil {
                    hjPort = d.components.listening.hj212
                    try await Task.sleep(for: .milliseconds(50))
                }
                let port = try #require(hjPort)
                let good = Self.packet(qn: "20261121080000001", cp: "DataTime=20261121080000;q01-Rtd=1.05,q01-Flag=N;q02-Rtd=0.95,q02-Flag=N;p01-Rtd=-120,p01-Flag=N")
                for _ in 0..<2 {
                    let answers = try await Self.hj212(port, good + [0x0D, 0x0A])
                    #expect(answers.map(\.cn) == ["9014"])
                    #expect(answers.first?.qn == "20261121080000001")
                }
                #expect(try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212'") == 3)
                // A resent (补传, RF=1) copy of it is the same data: a no-op by its natural key, still answered.
                let resent = HJ212.frame(dataSegment: "QN=20261121080000001;ST=31;CN=2011;PW=123456;MN=VR0001;Flag=5;RF=1;"
                    + "CP=&&DataTime=20261121080000;q01-Rtd=1.05,q01-Flag=N;q02-Rtd=0.95,q02-Flag=N;p01-Rtd=-120,p01-Flag=N&&")
                #expect(try await Self.hj212(port, resent).map(\.cn) == ["9014"])
                #expect(try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212'") == 3)

                // A real capture (testdata/hj212/vectors.txt): acknowledged, its factor kept raw.
                let real = try #require(try Fixture.hj212Vectors().valid.first { $0.hasPrefix("##0162QN=20231008123340461") })
                let realAnswers = try await Self.hj212(port, Array((real + "\r\n").utf8))
                #expect(realAnswers.map(\.cn) == ["9014"] && realAnswers.first?.qn == "20231008123340461")
                #expect(try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212' AND body LIKE '%w01008-Rtd=123.456%'") == 1)

                // HJ 212-2025: SM4-encrypted uploads, as text and as raw bytes, decrypted with the device's
                // key from the feeds file, recorded and answered in the 2025 edition.
                for (i, text) in [true, false].enumerated() {
                    let encrypted = try Self.encryptedPacket(qn: "2026112108100000\(i)", cp: "DataTime=20261121081\(i)00;q01-Rtd=1.07,q01-Flag=N", text: text)
                    let answers = try await Self.hj212(port, encrypted)
                    #expect(answers.map(\.cn) == ["9014"] && answers.first?.version == .v2025, "text \(text): \(answers)")
                }
                #expect(try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212' AND body LIKE '%1.07%'") == 2)

                // The silent console was recorded offline while the other one delivered readings.
                var offline: Int64 = 0
                let pattern = "%atg:127.0.0.1:\(silentPort)%offline%"
                for _ in 0..<50 where offline == 0 {
                    offline = try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND kind = 'device_status' AND body LIKE \(pattern)")
                    if offline == 0 { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(offline == 1)

                // Bad packets: wrong CRC, wrong password, unknown device; answered 9011 and quarantined.
                var badCRC = Self.packet(qn: "20261121080000002", cp: "DataTime=20261121080100;q01-Rtd=1.0")
                let crcDigit = badCRC.count - 3  // frame() ends with CCCC\r\n
                badCRC[crcDigit] = badCRC[crcDigit] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                let wrongPassword = Self.packet(qn: "20261121080000003", password: "000000", cp: "DataTime=20261121080100;q01-Rtd=1.0")
                let unknown = Self.packet(qn: "20261121080000004", mn: "NOBODY", cp: "DataTime=20261121080100;q01-Rtd=1.0")
                let answers = try await Self.hj212(port, badCRC + Array("\r\n".utf8) + wrongPassword + Array("\r\n".utf8) + unknown + Array("\r\n".utf8),
                                                   expectAnswers: 3)
                #expect(answers.map { $0.item("QnRtn") } == ["9", "3", "4"])
                #expect(answers.allSatisfy { $0.cn == "9011" })
                #expect(try await Self.count(d.db, "SELECT count(*) FROM quarantine WHERE source = 'hj212'") == 3)
                #expect(try await Self.count(d.db, "SELECT count(*) FROM quarantine WHERE source = 'hj212' AND reason LIKE '%wrong password for MN VR0001%'") == 1)

                // A packet split in two (PNUM/PNO, 2025 Flag 11), parts out of order: recorded whole and
                // answered once; a set left incomplete when the connection closes is quarantined.
                func part(_ no: Int, of count: Int, qn: String, factor: String) -> [UInt8] {
                    HJ212.frame(dataSegment: "QN=\(qn);ST=31;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=11;PNUM=\(count);PNO=\(no);"
                        + "CP=&&DataTime=20261121083000;\(factor)-Rtd=4.25&&")
                }
                let split = part(2, of: 2, qn: "20261121083000001", factor: "w02") + part(1, of: 2, qn: "20261121083000001", factor: "w01")
                let splitAnswers = try await Self.hj212(port, split)
                #expect(splitAnswers.map(\.cn) == ["9014"] && splitAnswers.first?.qn == "20261121083000001" && splitAnswers.first?.version == .v2025)
                #expect(try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212' AND body LIKE '%w01-Rtd=4.25%' AND body LIKE '%w02-Rtd=4.25%'") == 1)
                _ = try? await HJ212Client(port: port).send(part(1, of: 3, qn: "20261121083000002", factor: "w01"), answers: 0)
                var abandoned: Int64 = 0
                for _ in 0..<50 where abandoned == 0 {
                    abandoned = try await Self.count(d.db, "SELECT count(*) FROM quarantine WHERE source = 'hj212' AND reason LIKE '%QN 20261121083000002 incomplete: parts 1 of 3%'")
                    if abandoned == 0 { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(abandoned == 1)

                // A heartbeat (CN 9015) keeps its station's feed alive without adding a record (a station
                // fed by nothing else: the console's polls would move it too).
                let quiet = "LN-DL-0002"
                try await TestPostgres.superuser(d.db, "UPDATE chain_heads SET last_received_at = now() - interval '1 hour' WHERE station = '\(quiet)'")
                #expect(try await Self.count(d.db, "SELECT count(*) FROM chain_heads WHERE station = \(quiet) AND last_received_at > now() - interval '1 minute'") == 0)
                let beat = HJ212.frame(dataSegment: "QN=20261121090000001;ST=31;CN=9015;PW=123456;MN=0000000000000000000BEA70;Flag=9;CP=&&&&")
                #expect(try await Self.hj212(port, beat).first?.version == .v2025)
                #expect(try await Self.count(d.db, "SELECT count(*) FROM chain_heads WHERE station = \(quiet) AND last_received_at > now() - interval '1 minute'") == 1)
                #expect(try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(quiet)") == 0)

                // The chain holds both feeds and still verifies.
                let report = try await ChainAudit(database: d.db).verify(station: Self.station)
                #expect(report.isIntact)
            }
        }
    }

    @Test func gaugeOutageRaisesATelemetryGapThatResolves() async throws {
        try await Self.withPolledConsole(tweak: { $0.feeds.atg.offlineAfterFailures = 2 }) { d, atgPort in
            let subject = "device atg:127.0.0.1:\(atgPort)"
            @Sendable func alert() async throws -> AlertRecord? {
                var f = AlertFilter()
                f.status = .all
                f.station = Self.station
                f.rule = .telemetryGap
                return try await AlertStore(database: d.db).list(f).first { $0.subject == subject }
            }
            // The gauge is down from the start: after two failed polls it is recorded offline.
            var a: AlertRecord?
            for _ in 0..<100 {
                try await Task.sleep(for: .milliseconds(100))
                a = try await alert()
                if a != nil { break }
            }
            #expect(a?.status == .open)
            // The gauge comes back: readings flow and the alert resolves.
            try await Self.withEmulator(port: atgPort) { _ in
                for _ in 0..<100 {
                    try await Task.sleep(for: .milliseconds(100))
                    if try await alert()?.status == .resolved { break }
                }
            }
            #expect(try await alert()?.status == .resolved)
            #expect(try await Self.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND kind = 'device_status'") == 2)
        }
    }

    @Test func deliveriesMadeWhileTheConsoleWasUnreachableComeFromItsHistory() async throws {
        // The simulated station's first delivery after its first two hours; the console (the same
        // simulated history) runs from 40 minutes before it at a minute a second, then goes away,
        // and comes back 20 minutes after the delivery ended.
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 3))
        var probe = ATGEmulator.Settings()
        probe.start = Timestamp(microseconds: 1_795_000_000_000_000)  // 2026-11-18
        probe.days = 10
        let origin = probe.start
        let sim = ATGEmulator(station: registry.stations[0], settings: probe, logger: TestPostgres.logger)
        let (tank, first) = try #require(sim.deliveries.flatMap { t, ds in ds.map { (t, $0) } }
            .filter { $0.1.start > origin.adding(seconds: 7_200) }.min { $0.1.start < $1.1.start })
        // The emulated console's clock is in November: trusted all the same.
        try await Self.withPolledConsole(tweak: { $0.feeds.atg.maxClockSkew = .seconds(3_650 * 86_400) }) { d, atgPort in
            let readings: PostgresQuery = "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND kind = 'tank_reading'"
            try await Self.withEmulator(port: atgPort, settings: { $0.start = origin; $0.resumeAt = first.start.adding(seconds: -2_400); $0.speed = 60; $0.days = 10 }) { _ in
                for _ in 0..<50 where try await Self.count(d.db, readings) < 8 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(try await Self.count(d.db, readings) >= 8)
            // The console away for a few polls, then back two hours (of its time) later.
            try await Task.sleep(for: .seconds(2.5))
            let history: PostgresQuery = """
                SELECT l.body::jsonb->>'tank', (l.body::jsonb->>'tc_volume_l')::float8, k.natural_key FROM collected_keys k
                JOIN ledger l ON l.station = k.station AND l.source = k.source AND l.source_seq = k.source_seq
                WHERE k.station = \(Self.station) AND k.source = 'atg' AND strpos(k.natural_key, '/i202/') > 0 ORDER BY l.chain_seq
                """
            let found: [(String, Double, String)] = try await Self.withEmulator(port: atgPort, settings: {
                $0.start = origin; $0.resumeAt = first.end.adding(seconds: 1_200); $0.speed = 60; $0.days = 10
            }) { _ in
                for _ in 0..<100 {
                    let rows = try await d.db.client.query(history).collect()
                    if rows.count >= 2 { return try rows.map { try $0.decode((String, Double, String).self) } }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return []
            }
            // The delivery's start and end as the console measured them, in that order; fuel came in.
            let edges = found.filter { $0.0 == tank }
            #expect(edges.map { $0.2.hasSuffix("/start") } == [true, false], "\(found)")
            if edges.count == 2 { #expect(edges[1].1 - edges[0].1 > 1_000) }
            let report = try await ChainAudit(database: d.db).verify(station: Self.station)
            #expect(report.isIntact)
        }
    }
}
