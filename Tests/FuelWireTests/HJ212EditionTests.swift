import FuelWire
import Testing

/// HJ 212-2017 and HJ 212-2025 on one codec: Flag's bits 7–2 name the edition, bit 1 parts, bit 0
/// an answer; answers go in the sender's edition.
@Suite struct HJ212EditionTests {
    /// A 2025 upload: MN is the 24-hex network code assigned at activation.
    static let upload2025 = "QN=20260301101500123;ST=31;CN=2011;PW=123456;MN=4A7F00C3B2E14D9A0F6C2B18;Flag=9;CP=&&DataTime=20260301101500;q01-Rtd=1.05,q01-Flag=N&&"

    @Test func flagBitsNameTheEdition() {
        // (Flag, edition); edition bits 0 are the devices from before the bits existed.
        let cases: [(Int?, HJ212.Version?)] = [(nil, .v2017), (4, .v2017), (5, .v2017), (7, .v2017), (8, .v2025), (9, .v2025), (10, .v2025), (11, .v2025),
                                               (0, .v2017), (3, .v2017), (12, nil), (13, nil), (255, nil)]
        for (flag, edition) in cases { #expect(HJ212.Version.of(flag: flag) == edition, "Flag \(String(describing: flag))") }
        #expect(HJ212.Version.v2017.answerFlag == 4 && HJ212.Version.v2025.answerFlag == 8)
    }

    @Test func a2025UploadIsReadAndAnsweredIn2025() throws {
        let p = try HJ212.decode(HJ212.frame(dataSegment: Self.upload2025))
        #expect(p.version == .v2025 && p.wantsReply && !p.isPart && p.mn == "4A7F00C3B2E14D9A0F6C2B18")
        #expect(p.factors["q01"]?["Rtd"] == "1.05")
        let answer = try HJ212.decode(HJ212.reply(to: p))
        #expect(answer.cn == "9014" && answer.flag == 8 && answer.version == .v2025 && !answer.wantsReply && answer.qn == p.qn)
        let refusal = try HJ212.decode(HJ212.refusal(qn: p.qn, mn: p.mn, password: p.password, answer: .wrongPassword, version: p.version))
        #expect(refusal.flag == 8 && refusal.item("QnRtn") == "3")
        // A refusal of a frame whose CRC failed still answers in the sender's edition.
        var damaged = HJ212.frame(dataSegment: Self.upload2025)
        damaged[damaged.count - 3] = damaged[damaged.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(throws: HJ212.DecodeError.self) { try HJ212.decode(damaged) }
        let header = HJ212.bestEffortHeader(damaged)
        #expect(header.version == .v2025 && header.wantsReply && header.mn == p.mn)
    }

    @Test func a2017UploadIsStillAnsweredIn2017() throws {
        let p = try HJ212.decode(HJ212.frame(dataSegment: Self.upload2025.replacingOccurrences(of: "Flag=9", with: "Flag=5")))
        #expect(p.version == .v2017)
        #expect(try HJ212.decode(HJ212.reply(to: p)).flag == 4)
    }

    @Test func partsAndUnknownEditions() throws {
        let part = try HJ212.decode(HJ212.frame(dataSegment: Self.upload2025.replacingOccurrences(of: "Flag=9;", with: "Flag=11;PNUM=2;PNO=1;")))
        #expect(part.isPart && part.packetCount == 2 && part.packetNumber == 1 && part.version == .v2025)
        #expect { try HJ212.decode(HJ212.frame(dataSegment: Self.upload2025.replacingOccurrences(of: "Flag=9", with: "Flag=13"))) } throws: {
            "\($0)".contains("names edition 3") && "\($0)".contains("neither 2017 (1) nor 2025 (2)")
        }
        #expect(throws: HJ212.DecodeError.self) { try HJ212.decode(HJ212.frame(dataSegment: Self.upload2025.replacingOccurrences(of: "Flag=9", with: "Flag=x"))) }
    }
}
