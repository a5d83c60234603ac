import FuelModel
import FuelWire
import Testing

/// HJ 212 data packets mapped to vapour-recovery readings.
@Suite struct HJ212ReadingsTests {
    static let clock = LocalClock(timezone: "Asia/Shanghai")
    static let map = HJ212FactorMap(alRatio: ["q01": "N1", "q02": "N2"], tankPressure: ["p01": "T1"])

    static func packet(_ cp: String, cn: String = "2011") throws -> HJ212.Packet {
        try HJ212.decode(HJ212.frame(dataSegment: "QN=20261121080000123;ST=31;CN=\(cn);PW=123456;MN=VR0001;Flag=5;CP=&&\(cp)&&"))
    }

    @Test func mappedFactorsBecomeReadings() throws {
        let p = try Self.packet("DataTime=20261121080000;q01-Rtd=1.05,q01-Flag=N;q02-Rtd=0.82,q02-Flag=D;p01-Rtd=-150.5,p01-Flag=N;a24088-Rtd=12000,a24088-Flag=N;a01001-Rtd=8.3,a01001-Flag=N")
        let r = try HJ212.vapourReadings(p, device: "VR0001", map: Self.map, clock: Self.clock)
        let at = try #require(Timestamp(rfc3339: "2026-11-21T00:00:00Z"))
        #expect(r == [
            VapourReading(nozzle: "N1", device: "VR0001", at: at, alRatio: 1.05),
            VapourReading(nozzle: "N2", device: "VR0001", at: at, alRatio: 0.82),
            VapourReading(tank: "T1", device: "VR0001", at: at, pressurePa: -150.5),
            VapourReading(device: "VR0001", at: at, concentrationGM3: 12, factors: ["q02-Flag=D", "a01001-Flag=N", "a01001-Rtd=8.3"]),
        ])
    }

    @Test func minuteDataUsesAverages() throws {
        let p = try Self.packet("DataTime=20261121080100;q01-Avg=1.10,q01-Min=1.0,q01-Max=1.2,q01-Flag=N", cn: "2051")
        let r = try HJ212.vapourReadings(p, device: "VR0001", map: Self.map, clock: Self.clock)
        #expect(r.count == 1 && r[0].alRatio == 1.10 && r[0].nozzle == "N1")
    }

    @Test func errorsNameTheField() throws {
        do {
            _ = try HJ212.vapourReadings(try Self.packet("DataTime=20261121080100;q01-Rtd=abc"), device: "VR0001", map: Self.map, clock: Self.clock)
            Issue.record("non-number accepted")
        } catch { #expect("\(error)" == "CP.q01: \"abc\" is not a number") }
        do {
            _ = try HJ212.vapourReadings(try Self.packet("q01-Rtd=1.0"), device: "VR0001", map: Self.map, clock: Self.clock)
            Issue.record("missing DataTime accepted")
        } catch { #expect("\(error)" == "CP.DataTime is missing") }
        do {
            _ = try HJ212.vapourReadings(try Self.packet("DataTime=20261321080100;q01-Rtd=1"), device: "VR0001", map: Self.map, clock: Self.clock)
            Issue.record("month 13 accepted")
        } catch { #expect("\(error)".hasPrefix("CP.DataTime \"20261321080100\"")) }
    }

    @Test func commandsCarryNoReadings() throws {
        let p = try HJ212.decode(Array("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80".utf8))
        #expect(try HJ212.vapourReadings(p, device: "x", map: Self.map, clock: Self.clock).isEmpty)
    }

    @Test func everyRealDataVectorMapsWithoutError() throws {
        // The published captures are from other monitoring networks: nothing maps, all is kept raw.
        var readings = 0
        for line in try HJ212Tests.vectors().valid {
            let p = try HJ212.decode(Array(line.utf8))
            guard let cn = p.cn, HJ212.dataCommands.contains(cn), !p.items.isEmpty else { continue }
            let r = try HJ212.vapourReadings(p, device: p.mn ?? "", map: HJ212FactorMap(), clock: Self.clock)
            #expect(r.count == 1 && !r[0].factors.isEmpty, "\(line.prefix(60))")
            readings += r.count
        }
        #expect(readings == 17)  // every data packet with a CP in the file
    }

    @Test func refusalAndBestEffortHeader() throws {
        let bad = Array("##0050QN=20261121080000123;ST=31;CN=2011;PW=1;MN=VR9;Flag=5;CP=&&&&FFFF".utf8)
        let h = HJ212.bestEffortHeader(bad)
        #expect(h.qn == "20261121080000123" && h.mn == "VR9" && h.wantsReply)
        let answer = try HJ212.decode(HJ212.refusal(qn: h.qn, mn: h.mn, password: h.password, answer: .wrongCRC))
        #expect(answer.cn == "9011" && answer.item("QnRtn") == "9" && answer.qn == h.qn)
    }
}
