@testable import FuelAgent
import FuelWire
import Testing

/// The agent's configuration: what it needs, and errors that name the field.
@Suite struct AgentConfigFileTests {
    static let minimal = """
        cloud: {url: "https://cloud.example/"}
        station: LN-SY-0001
        key_file: /etc/fuelwarden/station.key
        spool: {directory: /var/lib/fuelwarden-agent}
        """

    @Test func theExampleAndAMinimalFileRead() throws {
        let c = try AgentConfigFile.decode(yaml: Self.minimal)
        #expect(c.cloudURL == "https://cloud.example" && c.station == "LN-SY-0001" && c.spoolMaxBytes == 512 * 1024 * 1024 && c.consoles.isEmpty)
        let example = try AgentConfigFile.decode(yaml: try String(contentsOfFile: #filePath.replacingOccurrences(
            of: "Tests/FuelAgentTests/AgentConfigFileTests.swift", with: "config/agent.example.yaml"), encoding: .utf8))
        #expect(example.consoles.count == 1 && example.consoles[0].station == "LN-SY-0001" && example.consoles[0].tankID(2) == "T2")
        #expect(example.dropDirectory == "/var/spool/fuelwarden" && example.statusPort == 9780)
    }

    @Test func errorsNameTheField() {
        func error(_ yaml: String) -> String {
            do {
                _ = try AgentConfigFile.decode(yaml: yaml)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(error(Self.minimal.replacingOccurrences(of: "https://", with: "http://")).contains("cloud.url"))
        #expect(error(Self.minimal.replacingOccurrences(of: "https://cloud.example/\"}", with: "http://cloud.example/\", allow_plain_http: true}")) == "no error")
        #expect(error(Self.minimal.replacingOccurrences(of: "station: LN-SY-0001\n", with: "")).contains("station"))
        #expect(error(Self.minimal + "\nupload: {batch_records: 0}").contains("upload.batch_records"))
        #expect(error(Self.minimal + "\natg_consoles: [{host: h, format: binary}]").contains("atg_consoles[0].format"))
        #expect(error(Self.minimal.replacingOccurrences(of: "}", with: ", client_key: /k}")).contains("client_certificate"))
    }

    @Test func theHJ212ListenerAndItsDevices() throws {
        let c = try AgentConfigFile.decode(yaml: Self.minimal + """

            hj212:
              port: 9300
              key_overlap_hours: 12
              devices:
                - {mn: "4A7F00C3B2E14D9A0F6C2B18", password: "123456", sm4_key: "30313233343536373839616263646566", al_ratio: {q01: N1}}
            """)
        let h = try #require(c.hj212)
        #expect(h.host == "0.0.0.0" && h.port == 9300 && h.keyOverlapHours == 12 && h.keyRotateAfterDays == 0 && h.keyFile == nil)
        #expect(h.devices.count == 1 && h.devices[0].station == "LN-SY-0001" && h.devices[0].factors.alRatio == ["q01": "N1"])
        #expect(h.devices[0].sm4Key == Array("0123456789abcdef".utf8))
        func error(_ yaml: String) -> String {
            do {
                _ = try AgentConfigFile.decode(yaml: Self.minimal + "\n" + yaml)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(error("hj212: {port: 9300}").contains("hj212.devices"))
        // A bad key is named, never repeated.
        let bad = error("hj212: {devices: [{mn: A, password: p, sm4_key: \"abcd\"}]}")
        #expect(bad.contains("hj212.devices[0].sm4_key") && !bad.contains("abcd"))
        #expect(error("hj212: {devices: [{mn: A, password: p}, {mn: A, password: q}]}").contains("listed twice"))
        #expect(error("hj212: {devices: [{mn: A}]}").contains("hj212.devices[0].password"))
    }
}

/// The cloud's `Date` header, read without ICU.
@Suite struct HTTPDateTests {
    @Test func imfFixdateReads() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT")?.timeIntervalSince1970 == 784_111_777)
        #expect(HTTPDate.parse("Wed, 02 Dec 2026 08:00:00 GMT")?.timeIntervalSince1970 == 1_796_198_400)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 24:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nox 1994 08:49:37 GMT") == nil)
    }
}
