import FuelModel
import FuelWire
import PropertyBased
import Testing

/// Stream framing of both device protocols: replies and packets split across reads, several in
/// one read, noise between them, and oversize input cut off.
@Suite struct FeedFramingTests {
    static let tlsReply = VeederRootTLS.encodeReply(
        function: "i20100", time: "2611010800",
        body: Array(("011000107" + "461C4000461C400045FA000042C800003F80000042700000FF800000").utf8))

    /// Feeds `stream` in pieces of the given sizes (cycled) and collects what comes out.
    static func cut<R>(_ stream: [UInt8], sizes: [Int], reader: inout R, append: (inout R, ArraySlice<UInt8>) -> Void,
                       drain: (inout R) -> [String]) -> [String] {
        var out: [String] = []
        var i = 0
        var k = 0
        while i < stream.count {
            let n = max(1, sizes[k % sizes.count])
            append(&reader, stream[i..<min(stream.count, i + n)])
            out += drain(&reader)
            i += n
            k += 1
        }
        return out
    }

    /// Every complete item, frames shown with `show`, junk as its byte count or text.
    static func drain(_ r: inout some ByteStreamFramer, show: ([UInt8]) -> String) -> [String] {
        r.feed([]).map { item in
            switch item {
            case .frame(let f): "frame:" + show(f)
            case .junk(let j, _): "junk:" + show(j)
            }
        }
    }

    static func drainTLS(_ r: inout TLSFrameReader) -> [String] { drain(&r) { PrintableBytes.text($0) } }
    static func drainHJ(_ r: inout HJ212FrameReader) -> [String] { drain(&r) { String(decoding: $0, as: UTF8.self) } }

    @Test func tlsRepliesSurviveAnySplit() async {
        let stream = Self.tlsReply + [0x0D, 0x0A] + Array("9999FF1B".utf8).reduce(into: [VeederRootTLS.soh]) { $0.append($1) } + [VeederRootTLS.etx] + Self.tlsReply
        await propertyCheck(count: 300, input: Gen.int(in: 1...40).array(of: 1...6)) { sizes in
            var r = TLSFrameReader()
            let got = Self.cut(stream, sizes: sizes, reader: &r, append: { $0.append($1) }, drain: Self.drainTLS)
            #expect(got.count == 3)
            #expect(got.first == "frame:" + PrintableBytes.text(Self.tlsReply))
            #expect(got.allSatisfy { $0.hasPrefix("frame:") })
            #expect(r.pending == 0)
        }
    }

    @Test func tlsNoiseIsReportedAndOversizeIsCut() {
        var r = TLSFrameReader(maxFrame: 64)
        r.append(Array("login: ".utf8) + Self.tlsReply)
        #expect(r.next() == .junk(Array("login: ".utf8), reason: "7 bytes outside SOH … ETX"))
        #expect(r.next() == .frame(Self.tlsReply))
        r.append([VeederRootTLS.soh] + Array(repeating: UInt8(ascii: "A"), count: 100))
        guard case .junk(let dropped, let reason)? = r.next() else { Issue.record("oversize reply not cut"); return }
        #expect(dropped.count == 101 && reason.contains("exceeds 64 bytes"))
        #expect(r.pending == 0)
    }

    @Test func hj212PacketsSurviveAnySplit() async throws {
        let packets = try HJ212Tests.vectors().valid
        let stream = Array(packets.map { $0 + "\r\n" }.joined().utf8)
        await propertyCheck(count: 200, input: Gen.int(in: 1...300).array(of: 1...5)) { sizes in
            var r = HJ212FrameReader()
            let got = Self.cut(stream, sizes: sizes, reader: &r, append: { $0.append($1) }, drain: Self.drainHJ)
            #expect(got == packets.map { "frame:" + $0 })
        }
    }

    @Test func hj212WithoutCRLFAndWithNoise() throws {
        let valid = try HJ212Tests.vectors().valid
        try #require(valid.count >= 2)
        let a = valid[0], b = valid[1]
        var r = HJ212FrameReader()
        r.append(Array((a + "GARBAGE\r\n" + b).utf8))
        #expect(Self.drainHJ(&r) == ["frame:" + a, "junk:GARBAGE\r\n", "frame:" + b])
    }

    @Test func hj212OversizeLengthIsRefusedWithoutWaiting() throws {
        var r = HJ212FrameReader(maxDataLength: 1024)
        let valid = try HJ212Tests.vectors().valid
        try #require(valid.count >= 2)
        let b = valid[1]
        r.append(Array(("##9000QN=1;ST=22" + b).utf8))
        let got = Self.drainHJ(&r)
        #expect(got.count == 2 && got[0].hasPrefix("junk:##9000") && got[1] == "frame:" + b)
        var bad = HJ212FrameReader()
        bad.append(Array("##12x4QN=1".utf8))
        guard case .junk(_, let reason)? = bad.next() else { Issue.record("bad length accepted"); return }
        #expect(reason.contains("not 4 decimal digits"))
    }

    @Test func printableBytesEscapeControlAndHighBytes() {
        #expect(PrintableBytes.text([0x01, 0x41, 0x5C, 0x0D, 0x0A, 0xFF, 0x00]) == "\\x01A\\\\\\r\\n\\xFF\\x00")
        #expect(PrintableBytes.text(Array(repeating: 0x41, count: 10), limit: 4) == "AAAA…(6 more bytes)")
    }
}
