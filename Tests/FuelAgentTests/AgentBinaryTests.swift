import FuelAgent
import FuelModel
import Foundation
import Testing

/// The standalone `fuelwarden-agent` executable as a station runs it: built on FoundationEssentials
/// alone (no libFoundation, no ICU: issue 16's memory), reading its configuration (zones by name
/// through the C library), its spool (SQLite) and running until SIGTERM.
@Suite(.serialized) struct AgentBinaryTests {
    /// The executable `swift build` put beside the test bundle.
    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("fuelwarden-agent").path
    }

    static func setUp(timezone: String) throws -> (directory: String, config: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-agent-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = dir + "/station.key"
        try "fw_test_key\n".write(toFile: key, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        let spool = try AgentSpool(directory: dir + "/spool", maxBytes: 64 << 20)
        try spool.setFirstSeq(5)
        try spool.append((0..<2).map { i in
            AgentSpool.Item(record: .priceChange(PriceChange(grade: "92", unitPrice: 7.5 + Double(i) / 100, effectiveAt: Timestamp(seconds: 1_793_000_000 + Int64(i)))),
                            origin: "test")
        })
        let config = dir + "/agent.yaml"
        try """
            cloud: {url: "http://127.0.0.1:9", allow_plain_http: true}
            station: LN-SY-0001
            timezone: \(timezone)
            key_file: \(key)
            spool: {directory: \(dir)/spool}
            status: {host: 127.0.0.1, port: 0}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return (dir, config)
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func statusReadsTheSpoolAndAZoneByNameWithoutICU() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the package first: \(Self.binary)")
        let (dir, config) = try Self.setUp(timezone: "Europe/Berlin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.run(["status", "--config", config, "--json"])
        #expect(r.status == 0, "\(r.output)")
        let json = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
        #expect(json?["spooled_records"] as? Int == 2 && json?["next_seq"] as? Int == 7, "\(r.output)")

        // A zone the system does not know is refused by name (the C library would read it as UTC).
        let (dir2, config2) = try Self.setUp(timezone: "Mars/Olympus_Mons")
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        let bad = try Self.run(["status", "--config", config2])
        #expect(bad.status == 1 && bad.output.contains("timezone") && bad.output.contains("Mars/Olympus_Mons"), "\(bad.output)")
    }

    @Test func aRunningAgentMapsNeitherFoundationNorICU() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the package first: \(Self.binary)")
        let (dir, config) = try Self.setUp(timezone: "Asia/Shanghai")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["run", "--config", config, "--log-level", "error"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        // Up and trying to reach its (absent) cloud: its libraries are all mapped by now.
        try await Task.sleep(for: .seconds(2))
        #expect(p.isRunning, "the agent exited with \(p.terminationStatus)")
        // Read to the end: String(contentsOfFile:) stops at the first read of a /proc file.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/\(p.processIdentifier)/maps"))
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try handle.close()
        let libraries = Set(maps.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }.filter { $0.contains(".so") })
            .map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(libraries.contains { $0.hasPrefix("libFoundationEssentials") }, "\(libraries.sorted())")
        #expect(!libraries.contains { $0.hasPrefix("libFoundation.so") || $0.contains("FoundationICU") || $0.contains("FoundationInternationalization") },
                "\(libraries.sorted())")
        p.terminate()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit, "stopped by SIGTERM, the agent exits on its own")
    }
}
