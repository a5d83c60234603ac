import FuelClient
import FuelGuomi
import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import PostgresNIO
import Testing

/// HJ 212-2025 devices over real TCP against a real daemon: SM4 key rotation with CN 1014 in both
/// directions (the device announces a key; the platform gives one), the previous key's overlap,
/// the key file and its mode, the key-age warning, and a device's own online state — offline,
/// back with data missing, and the gap filled by resent (RF=1) packets, which resolves its alert.
@Suite(.serialized) struct HJ212DeviceTests {
    static let station = "LN-SY-0001"
    static let mn = "4A7F00C3B2E14D9A0F6C2B18"
    static let key1: [UInt8] = Array("0123456789abcdef".utf8)
    static let key2: [UInt8] = Array(repeating: 0x5A, count: 16)

    static func hex(_ k: [UInt8]) -> String { k.map { String(format: "%02x", $0) }.joined() }

    /// A 2025 packet from the device, CP encrypted under `key` when its CN carries encrypted CP.
    static func packet(cn: String = "2011", qn: String, cp: String, key: [UInt8], resent: Bool = false) throws -> [UInt8] {
        let rf = resent ? "RF=1;" : ""
        return try HJ212.frame(dataSegment: "QN=\(qn);ST=31;CN=\(cn);PW=123456;MN=\(mn);Flag=9;\(rf)CP=&&\(cp)&&",
                               encryptBlocks: SM4(key: key).encryptBlocks)
    }

    /// Data time `minutes` after 2026-11-21 08:00 (Beijing) as HJ 212 writes it.
    static func dataTime(_ minutes: Int) -> String {
        let h = 8 + minutes / 60, m = minutes % 60
        return String(format: "20261121%02d%02d00", h, m)
    }

    static func upload(_ minutes: Int, key: [UInt8], resent: Bool = false) throws -> [UInt8] {
        try packet(qn: "20261121\(String(format: "%06d", minutes))001", cp: "DataTime=\(dataTime(minutes));q01-Rtd=1.05,q01-Flag=N", key: key, resent: resent)
    }

    static func withDaemon(keyFile: String? = nil, feedsKey: Bool = true, _ tweak: @escaping @Sendable (inout FuelwardenConfig) -> Void = { _ in },
                           _ body: @escaping @Sendable (TestDaemon, Int) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-hj212-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let feedsPath = dir.appendingPathComponent("feeds.yaml").path
        let keyEntry = feedsKey ? ", sm4_key: \"\(hex(key1))\"" : ""
        try "hj212_devices:\n  - {mn: \(mn), station: \(station), password: \"123456\"\(keyEntry), al_ratio: {q01: N1}}\n"
            .write(toFile: feedsPath, atomically: true, encoding: .utf8)
        try await TestDaemon.with(stations: 3, tweak: { c in
            c.feeds.file = feedsPath
            c.feeds.hj212Enabled = true
            c.feeds.hj212.port = 0
            c.feeds.hj212.keyFile = keyFile
            c.feeds.hj212.deviceSweep = .milliseconds(200)
            tweak(&c)
        }) { d in
            var port: Int?
            for _ in 0..<100 where port == nil {
                port = d.components.listening.hj212
                if port == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            try await body(d, try #require(port))
        }
    }

    static func alert(_ d: TestDaemon, rule: AlertRule) async throws -> AlertRecord? {
        var f = AlertFilter()
        f.status = .all
        f.station = station
        f.rule = rule
        return try await AlertStore(database: d.db).list(f).first { $0.subject == "device \(mn)" }
    }

    static func waitFor(_ what: String, _ check: @Sendable () async throws -> Bool) async throws {
        for _ in 0..<100 {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
    }

    /// With an hour's overlap the previous key still decrypts after the change; with none it is
    /// refused at once. (Two overlaps rather than a clock waited out: a loaded machine would make a
    /// short overlap expire before its check.)
    @Test(arguments: [3600.0, 0.0]) func aDeviceAnnouncesANewKeyAndTheOldOneLastsForTheOverlap(overlap: Double) async throws {
        try await Self.withDaemon({ $0.feeds.hj212.keyOverlap = .seconds(overlap) }) { d, port in
            let client = HJ212Client(port: port)
            #expect(try await client.send(Self.upload(0, key: Self.key1), answers: 1).map(\.cn) == ["9014"])
            // CN 1014 from the device, encrypted under the key in force: answered ready and done, stored.
            let announce = try Self.packet(cn: "1014", qn: "20261121080030001", cp: "NewKey=\(Self.hex(Self.key2))", key: Self.key1)
            let answers = try await client.send(announce, answers: 2)
            #expect(answers.map(\.cn) == ["9011", "9012"])
            #expect(answers.last?.item("ExeRtn") == "1")
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM hj212_device_keys WHERE mn = \(Self.mn) AND origin = 'device' AND state = 'active'") == 1)
            // The new key decrypts.
            #expect(try await client.send(Self.upload(1, key: Self.key2), answers: 1).map(\.cn) == ["9014"])
            let old = try await client.send(Self.upload(2, key: Self.key1), answers: 1)
            if overlap > 0 {
                // Within the overlap the old key still does.
                #expect(old.map(\.cn) == ["9014"])
            } else {
                // Past it, the old key is refused as a CRC mismatch (9011, QnRtn=9) and quarantined.
                #expect(old.first?.cn == "9011" && old.first?.item("QnRtn") == "9")
            }
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212'") == (overlap > 0 ? 3 : 2))
            // A CN 1014 without a key is refused and quarantined without its content.
            let empty = try Self.packet(cn: "1014", qn: "20261121080500001", cp: "Other=1", key: Self.key2)
            #expect(try await client.send(empty, answers: 1).first?.item("QnRtn") == "2")
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM quarantine WHERE reason LIKE '%CN 1014 without a new key%' AND raw LIKE '%content withheld%'") == 1)
            // The key is never written anywhere but its own table.
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM quarantine WHERE raw ILIKE \("%" + Self.hex(Self.key2) + "%")") == 0)
        }
    }

    @Test func thePlatformGivesADueKeyAndTheDeviceConfirmsIt() async throws {
        try await Self.withDaemon({ $0.feeds.hj212.keyRotateAfter = .milliseconds(1) }) { d, port in
            let client = HJ212Client(port: port)
            try await Task.sleep(for: .milliseconds(50))
            // The answer to an upload is followed by CN 1014, encrypted under the key in force.
            let answers = try await client.send(Self.upload(0, key: Self.key1), answers: 2, decryptBlocksFor: { _ in
                { try SM4(key: Self.key1).decryptBlocks($0) }
            })
            #expect(answers.map(\.cn) == ["9014", "1014"])
            let command = try #require(answers.last)
            let offered = try HJ212.announcedKey(in: command)
            #expect(offered.count == 16 && offered != Self.key1)
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM hj212_device_keys WHERE mn = \(Self.mn) AND state = 'pending'") == 1)
            // The device confirms (9012, ExeRtn=1, the command's QN): the offered key is in force.
            let done = HJ212.frame(dataSegment: "QN=\(command.qn ?? "");ST=91;CN=9012;PW=123456;MN=\(Self.mn);Flag=8;CP=&&ExeRtn=1&&")
            _ = try await client.send(done, answers: 0)
            try await Self.waitFor("the offered key to be active") {
                try await FeedTests.count(d.db, "SELECT count(*) FROM hj212_device_keys WHERE mn = \(Self.mn) AND origin = 'platform' AND state = 'active'") == 1
            }
            // The new key decrypts; being due at once again (a 1 ms rotation here) the next command
            // comes encrypted under it, the key now in force.
            let next = try await client.send(Self.upload(1, key: offered), answers: 2, decryptBlocksFor: { _ in
                { try SM4(key: offered).decryptBlocks($0) }
            })
            #expect(next.map(\.cn) == ["9014", "1014"])
            #expect(try HJ212.announcedKey(in: try #require(next.last)) != offered)
        }
    }

    @Test func theKeyFileMustBePrivateAndAnOldKeyRaisesAFeedKeyWarning() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("keys.yaml").path
        let since = Timestamp(Date().addingTimeInterval(-100 * 86_400)).rfc3339
        try "devices:\n  \(Self.mn):\n    - {key: \(Self.hex(Self.key1)), since: \"\(since)\"}\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        var config = FuelwardenConfig()
        config.feeds.hj212.keyFile = path
        #expect { try config.loadHJ212Keys() } throws: { "\($0)".contains("readable by others (mode 644)") && !"\($0)".contains(Self.hex(Self.key1)) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try config.loadHJ212Keys()[Self.mn]?.first?.bytes == Self.key1)

        try await Self.withDaemon(keyFile: path, feedsKey: false) { d, port in
            // The key from the key file decrypts; being 100 days old it raises one feed_key warning.
            #expect(try await HJ212Client(port: port).send(Self.upload(0, key: Self.key1), answers: 1).map(\.cn) == ["9014"])
            try await Self.waitFor("the feed_key warning") { try await Self.alert(d, rule: .feedKey)?.status == .open }
            let warning = try #require(try await Self.alert(d, rule: .feedKey))
            let evidence = try JSONSerialization.jsonObject(with: Data(warning.evidenceJSON.utf8)) as? [String: Any]
            #expect(warning.severity == .warning && evidence?["key_age_days"] as? Double == 100)
            #expect(!warning.evidenceJSON.contains(Self.hex(Self.key1)))
            // The device rotates (CN 1014): the warning resolves.
            let announce = try Self.packet(cn: "1014", qn: "20261121080030001", cp: "SecretKey=\(Self.hex(Self.key2))", key: Self.key1)
            #expect(try await HJ212Client(port: port).send(announce, answers: 2).last?.item("ExeRtn") == "1")
            try await Self.waitFor("the feed_key warning to resolve") { try await Self.alert(d, rule: .feedKey)?.status == .resolved }
        }
    }

    @Test func aDeviceOfflineThenResendingItsGapResolvesItsAlert() async throws {
        try await Self.withDaemon({ $0.feeds.hj212.offlineAfter = .seconds(4) }) { d, port in
            let client = HJ212Client(port: port)
            // Minute data at 08:00–08:03: the device's interval is learnt.
            for m in 0..<4 { #expect(try await client.send(Self.upload(m, key: Self.key1), answers: 1).first?.cn == "9014") }
            // Then it falls silent: offline.
            try await Self.waitFor("the device offline alert") { try await Self.alert(d, rule: .telemetryGap)?.status == .open }
            #expect(try await Self.alert(d, rule: .telemetryGap)?.evidenceJSON.contains("offline") == true)
            // Back, with 08:20: 08:04–08:19 is owed; the alert stays open and says so.
            #expect(try await client.send(Self.upload(20, key: Self.key1), answers: 1).first?.cn == "9014")
            try await Self.waitFor("the owed data in the alert") {
                try await Self.alert(d, rule: .telemetryGap)?.evidenceJSON.contains("missing_from") == true
            }
            #expect(try await Self.alert(d, rule: .telemetryGap)?.status == .open)
            let token = try await d.token(.viewer)
            let (status, body) = try await d.client.send(.GET, "/v1/stations/\(Self.station)", token: token)
            #expect(status == 200)
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            let device = (json?["devices"] as? [[String: Any]])?.first
            #expect(device?["mn"] as? String == Self.mn && device?["online"] as? Bool == true && device?["missing_from"] != nil)
            // The console's station page shows the device, in Chinese first.
            var agent = ConsoleAgent(base: d.client.baseURL)
            _ = try await agent.signIn(token)
            let page = try await agent.get("/console/stations/\(Self.station)")
            let devices = try #require(page.body.range(of: #"id="devices""#).map { String(page.body[$0.lowerBound...].prefix(1500)) })
            #expect(devices.contains(Self.mn) && devices.contains("在线") && devices.contains("HJ212-2025"))
            // The resend (RF=1) of 08:04–08:19: stored as late data, and the gap filled resolves the alert.
            var resend: [UInt8] = []
            for m in 4..<20 { resend += try Self.upload(m, key: Self.key1, resent: true) }
            #expect(try await client.send(resend, answers: 16).allSatisfy { $0.cn == "9014" })
            try await Self.waitFor("the gap alert to resolve") { try await Self.alert(d, rule: .telemetryGap)?.status == .resolved }
            #expect(try await Self.alert(d, rule: .telemetryGap)?.resolutionNote?.contains("补传") == true)
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212'") == 21)
            #expect(try await FeedTests.count(d.db, "SELECT resent FROM hj212_devices WHERE mn = \(Self.mn)") == 16)
            // Sent again, the resend is a no-op by its natural key and raises nothing new.
            #expect(try await client.send(resend, answers: 16).count == 16)
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(Self.station) AND source = 'hj212'") == 21)
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM alerts WHERE station = \(Self.station) AND subject = \("device " + Self.mn) AND status <> 'resolved'") == 0)
        }
    }
}
