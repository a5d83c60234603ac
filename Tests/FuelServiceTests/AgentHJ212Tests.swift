import FuelAgent
import FuelClient
import FuelFeeds
import FuelGuomi
import FuelModel
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import PostgresNIO
import Testing

/// An HJ 212-2025 vapour-recovery monitor at the station talks to the station agent, not to the
/// cloud: its encrypted uploads are answered 9014 once spooled, reach the ledger through the push
/// API once, a CN 1014 key change is kept in the spool and still decrypts after a restart.
@Suite(.serialized) struct AgentHJ212Tests {
    typealias Device = HJ212DeviceTests

    @Test func aMonitorAtTheStationReachesTheLedgerThroughTheAgentAndItsKeyChangeSurvivesARestart() async throws {
        let place = try StationAgentTests.Place()
        defer { try? FileManager.default.removeItem(atPath: place.root) }
        try await TestDaemon.with { d in
            let key = try await d.token(.station, station: StationAgentTests.station)
            try key.write(toFile: place.keyFile, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: place.keyFile)
            var config = StationAgentTests.config(place, cloud: d.client.baseURL, consolePort: nil)
            config.dropDirectory = nil
            var source = AgentConfigFile.HJ212Source()
            source.host = "127.0.0.1"
            source.port = 0
            var factors = HJ212FactorMap()
            factors.alRatio = ["q01": "N1"]
            source.devices = [FeedsFile.HJ212Device(mn: Device.mn, station: StationAgentTests.station, password: "123456", factors: factors,
                                                    sm4Key: Device.key1)]
            config.hj212 = source
            let vapour = "SELECT count(*) FROM ledger WHERE station = 'LN-SY-0001' AND kind = 'vapour_reading'"

            try await StationAgentTests.withAgent(config, hj212Port: true) { port, spool in
                // Until the cloud has told the agent where the station's seqs stand, nothing is spooled and
                // a packet gets no answer (the device sends it again, as HJ 212 devices do).
                try await StationAgentTests.waitFor("the agent's first seq") { try !spool.needsFirstSeq() }
                let device = HJ212Client(port: port)
                #expect(try await device.send(Device.upload(0, key: Device.key1), answers: 1).map(\.cn) == ["9014"])
                // The device announces its next key (CN 1014, under the key in force): ready, done, kept in the spool.
                let announce = try Device.packet(cn: "1014", qn: "20261121080030001", cp: "NewKey=\(Device.hex(Device.key2))", key: Device.key1)
                let answers = try await device.send(announce, answers: 2)
                #expect(answers.map(\.cn) == ["9011", "9012"] && answers.last?.item("ExeRtn") == "1")
                #expect(try spool.hj212Keys().contains { $0.key == Device.key2 && $0.origin == "device" && !$0.pending })
                #expect(try await device.send(Device.upload(1, key: Device.key2), answers: 1).map(\.cn) == ["9014"])
                // A packet sent again (its answer lost) is answered again, kept once.
                #expect(try await device.send(Device.upload(1, key: Device.key2), answers: 1).map(\.cn) == ["9014"])
                // A wrong password is refused (9011, QnRtn=3) and nothing of it spooled.
                let intruder = try HJ212.frame(dataSegment: "QN=20261121080200001;ST=31;CN=2011;PW=999999;MN=\(Device.mn);Flag=9;CP=&&DataTime=20261121080200&&",
                                               encryptBlocks: SM4(key: Device.key2).encryptBlocks)
                #expect(try await device.send(intruder, answers: 1).first?.item("QnRtn") == "3")
                try await StationAgentTests.waitFor("two vapour readings in the ledger") {
                    try await FeedTests.count(d.db, PostgresQuery(unsafeSQL: vapour)) == 2
                }
            }
            // A restart: the key the device announced still decrypts (read back from the spool).
            try await StationAgentTests.withAgent(config, hj212Port: true) { port, _ in
                #expect(try await HJ212Client(port: port).send(Device.upload(2, key: Device.key2), answers: 1).map(\.cn) == ["9014"])
                try await StationAgentTests.waitFor("the third vapour reading in the ledger") {
                    try await FeedTests.count(d.db, PostgresQuery(unsafeSQL: vapour)) == 3
                }
            }
            // Each reading exactly once, pushed by the agent in seq order.
            #expect(try await FeedTests.count(d.db, PostgresQuery(unsafeSQL: vapour + " AND source = 'push'")) == 3)
        }
    }
}
