import FuelWire
import PropertyBased
import Testing

/// Split packets (PNUM/PNO): reassembled in PNO order whatever order the parts come in, bounded,
/// and what cannot be completed comes back with its reason.
@Suite struct HJ212PartAssemblerTests {
    static let mn = "4A7F00C3B2E14D9A0F6C2B18"

    /// Part `no` of `count` of QN `qn`, carrying CP items `a<no>=…`.
    static func part(_ no: Int, of count: Int, qn: String = "20260301101500123", flag: Int = 11) throws -> HJ212.Packet {
        try HJ212.decode(HJ212.frame(dataSegment:
            "QN=\(qn);ST=31;CN=2011;PW=123456;MN=\(mn);Flag=\(flag);PNUM=\(count);PNO=\(no);CP=&&DataTime=20260301101500;q0\(no)-Rtd=1.0\(no)&&"))
    }

    @Test func partsInAnyOrderMakeOnePacket() async {
        await propertyCheck(input: Gen.int(in: 2...6), Gen.int(in: 0...1000)) { count, shuffleSeed in
            var order = Array(1...count)
            var s = UInt64(shuffleSeed) &+ 1
            for i in order.indices.reversed() {
                s = s &* 6364136223846793005 &+ 1442695040888963407
                order.swapAt(i, Int(s >> 33) % (i + 1))
            }
            var a = HJ212PartAssembler()
            var results: [HJ212PartAssembler.Outcome] = []
            for no in order {
                guard let part = try? Self.part(no, of: count) else { Issue.record("part \(no) does not decode"); return }
                results.append(a.add(part, raw: "part \(no)", now: 0))
            }
            // Every part but the last waits; the last gives the whole packet.
            for r in results.dropLast() { guard case .waiting = r else { Issue.record("expected waiting, got \(r)"); return } }
            guard case .whole(let p, let raw)? = results.last else { Issue.record("expected whole"); return }
            #expect(p.field("PNUM") == nil && p.field("PNO") == nil && p.isPart == false && p.wantsReply && p.version == .v2025)
            #expect((1...count).map { p.factors["q0\($0)"]?["Rtd"] } == (1...count).map { "1.0\($0)" })
            #expect(raw == (1...count).map { "part \($0)" }.joined(separator: "\n"))
            #expect(a.pendingSets == 0)
        }
    }

    @Test func aPacketThatIsNotAPartPassesAndOnePartOfOneIsWhole() throws {
        var a = HJ212PartAssembler()
        let plain = try HJ212.decode(HJ212.frame(dataSegment: "QN=1;ST=31;CN=2011;PW=1;MN=\(Self.mn);Flag=9;CP=&&DataTime=20260301101500&&"))
        guard case .whole(let p, _) = a.add(plain, raw: "", now: 0) else { Issue.record("not whole"); return }
        #expect(p == plain)
        guard case .whole(let single, _) = a.add(try Self.part(1, of: 1), raw: "", now: 0) else { Issue.record("not whole"); return }
        #expect(single.field("PNUM") == nil && single.flag == 9)
    }

    @Test func wrongNumbersAndBoundsAreRefusedWithTheirReason() throws {
        var a = HJ212PartAssembler(maxParts: 4, maxSets: 1)
        func reason(_ o: HJ212PartAssembler.Outcome) -> String? { if case .refused(let r) = o { r } else { nil } }
        #expect(reason(a.add(try Self.part(5, of: 4), raw: "", now: 0))?.contains("PNO=5 is outside 1…PNUM=4") == true)
        #expect(reason(a.add(try Self.part(1, of: 9), raw: "", now: 0))?.contains("PNUM=9 is outside 1…4") == true)
        #expect(reason(a.add(try Self.part(1, of: 3), raw: "", now: 0)) == nil)
        #expect(reason(a.add(try Self.part(2, of: 2), raw: "", now: 0))?.contains("differs from the set's PNUM=3") == true)
        #expect(reason(a.add(try Self.part(1, of: 2, qn: "20260301101500999"), raw: "", now: 0))?.contains("already waiting") == true)
        var small = HJ212PartAssembler(maxCharacters: 10)
        #expect(reason(small.add(try Self.part(1, of: 2), raw: String(repeating: "x", count: 11), now: 0))?.contains("exceeds 10 characters") == true)
        #expect(small.pendingSets == 0)
    }

    @Test func incompleteSetsAreGivenUpWithWhatArrived() throws {
        var a = HJ212PartAssembler(maxAge: 60)
        _ = a.add(try Self.part(1, of: 3), raw: "one", now: 0)
        _ = a.add(try Self.part(3, of: 3), raw: "three", now: 10)
        _ = a.add(try Self.part(1, of: 2, qn: "20260301101600000"), raw: "later", now: 50)
        #expect(a.expire(now: 59).isEmpty)
        let gone = a.expire(now: 61)
        #expect(gone.count == 1 && gone[0].raw == "one\nthree" && gone[0].reason.contains("parts 1,3 of 3") && gone[0].mn == Self.mn)
        #expect(a.pendingSets == 1)
        let atClose = a.expire(now: 62, all: true)
        #expect(atClose.count == 1 && atClose[0].raw == "later" && atClose[0].reason.contains("connection closed") && a.pendingSets == 0)
    }
}
