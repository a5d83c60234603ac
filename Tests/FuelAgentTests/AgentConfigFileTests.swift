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
