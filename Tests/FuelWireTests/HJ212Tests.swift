import FuelWire
import Foundation
import PropertyBased
import FuelFixtures
import Testing

/// HJ 212-2017 against the real packets in `Tests/Fixtures/hj212/vectors.txt`.
@Suite struct HJ212Tests {
    static func vectors() throws -> (valid: [String], bad: [String]) { try Fixture.hj212Vectors() }

    @Test func everyValidVectorDecodesWithItsCRC() throws {
        let valid = try Self.vectors().valid
        #expect(valid.count == 30)
        for line in valid {
            let p = try HJ212.decode(Array((line + "\r\n").utf8))
            #expect(p.cn != nil && p.mn != nil, "\(line.prefix(60))")
        }
    }

    @Test func everyBadVectorIsRejected() throws {
        let bad = try Self.vectors().bad
        #expect(bad.count == 8)
        for line in bad {
            #expect(throws: HJ212.DecodeError.self, "\(line.prefix(60))") { try HJ212.decode(Array(line.utf8)) }
        }
    }

    @Test func standardExampleFields() throws {
        let p = try HJ212.decode(Array("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n".utf8))
        #expect(p.qn == "20160801085857223" && p.st == "32" && p.cn == "1062" && p.password == "100000")
        #expect(p.flag == 5 && p.wantsReply)
        #expect(p.item("RtdInterval") == "30")
        #expect(HJ212.crc(Array("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&".utf8)) == 0x1C80)
    }

    @Test func factorsAndDataTime() throws {
        let line = try #require(Self.vectors().valid.first { $0.contains("CN=2061") })
        let p = try HJ212.decode(Array(line.utf8))
        #expect(p.dataTime == "20190924220000")
        #expect(p.factors["a34006"]?["Avg"] == "2.69700" && p.factors["a34006"]?["Flag"] == "N")
    }

    @Test func lowerCaseCRCAndEmptyCP() throws {
        let p = try HJ212.decode(Array("##0087QN=20201015123632010;ST=91;CN=9014;PW=123456;MN=410183160889201000212505;Flag=4;CP=&&&&f001".utf8))
        #expect(p.cn == "9014" && p.items.isEmpty)
    }

    @Test(arguments: ["#0101QN=1", "##01x1QN=1;CP=&&&&0000", "##0010ST=1;CN=2;CP=&&&&FFFF", "##0004ST=1"])
    func malformedFramesAreRejected(text: String) {
        #expect(throws: HJ212.DecodeError.self) { try HJ212.decode(Array(text.utf8)) }
    }

    @Test func replyAnswersUploadsWith9014() throws {
        let up = try HJ212.decode(Array(try #require(Self.vectors().valid.first { $0.contains("CN=2061") }).utf8))
        let reply = try HJ212.decode(HJ212.reply(to: up))
        #expect(reply.cn == "9014" && reply.qn == up.qn && reply.mn == up.mn && reply.st == "91")
        let rejected = try HJ212.decode(HJ212.refusal(qn: up.qn, mn: up.mn, password: up.password, answer: .wrongPassword))
        #expect(rejected.cn == "9011" && rejected.item("QnRtn") == "3" && rejected.qn == up.qn)
        let request = try HJ212.decode(HJ212.frame(dataSegment: "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=M1;Flag=5;CP=&&RtdInterval=30&&"))
        #expect(try HJ212.decode(HJ212.reply(to: request)).item("QnRtn") == "1")
    }

    /// Framing then decoding is the identity; flipping any byte of the data breaks the CRC or the parse.
    @Test func frameRoundTripAndCorruption() async {
        await propertyCheck(input: Gen.int(in: 0...999_999), Gen.int(in: 0...40), Gen.int(in: 1...255)) { value, pos, mask in
            let segment = "QN=20260101000000000;ST=22;CN=2011;PW=123456;MN=FW\(value);Flag=5;CP=&&DataTime=20260101000000;a01-Rtd=\(value)&&"
            var frame = HJ212.frame(dataSegment: segment)
            #expect((try? HJ212.decode(frame))?.factors["a01"]?["Rtd"] == "\(value)")
            frame[6 + pos] ^= UInt8(mask)
            #expect((try? HJ212.decode(frame)) == nil)
        }
    }
}

/// A header field given twice is ambiguous (which MN authenticated, which key decrypts?): refused.
@Test func aHeaderFieldGivenTwiceIsRefused() {
    let twice = HJ212.frame(dataSegment: "QN=1;ST=31;CN=2011;PW=1;MN=A;Flag=5;MN=B;CP=&&DataTime=20260301101500&&")
    #expect { try HJ212.decode(twice) } throws: { "\($0)".contains("header field MN appears twice") }
}
