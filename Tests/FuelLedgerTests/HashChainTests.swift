import FuelLedger
import FuelModel
import PropertyBased
import Testing

@Suite struct CanonicalEncodingTests {
    let t = Timestamp(rfc3339: "2026-11-01T16:00:00+08:00")!

    @Test func sameContentSameBytesWhateverTheSpelling() throws {
        let a = Record.delivery(Delivery(tank: "T1", supplier: "SUP-001", batch: "B", billNo: "BL-1", grade: "92",
                                         declaredVolumeL: 20000.0, startedAt: t, endedAt: t))
        let b = Record.delivery(Delivery(tank: "T1", supplier: "SUP-001", batch: "B", billNo: "BL-1", grade: "92",
                                         declaredVolumeL: 20000, startedAt: Timestamp(rfc3339: "2026-11-01T08:00:00Z")!,
                                         endedAt: Timestamp(rfc3339: "2026-11-01T08:00:00.000Z")!))
        let ea = CanonicalEncoding.encode(station: "S", source: .push, sourceSeq: 1, record: a)
        #expect(ea == CanonicalEncoding.encode(station: "S", source: .push, sourceSeq: 1, record: b))
        #expect(String(decoding: ea, as: UTF8.self) == #"{"station":"S","source":"push","source_seq":1,"kind":"delivery","tank":"T1","supplier":"SUP-001","batch":"B","bill_no":"BL-1","grade":"92","declared_volume_l":20000,"started_at":"2026-11-01T08:00:00Z","ended_at":"2026-11-01T08:00:00Z"}"#)
    }

    @Test func stationSourceAndSeqAreBound() {
        let r = Record.priceChange(PriceChange(grade: "92", unitPrice: 7.9, effectiveAt: t))
        let base = CanonicalEncoding.encode(station: "S", source: .push, sourceSeq: 1, record: r)
        #expect(base != CanonicalEncoding.encode(station: "S2", source: .push, sourceSeq: 1, record: r))
        #expect(base != CanonicalEncoding.encode(station: "S", source: .atg, sourceSeq: 1, record: r))
        #expect(base != CanonicalEncoding.encode(station: "S", source: .push, sourceSeq: 2, record: r))
    }
}

/// The byte-level canonical encoder (issue 19) against the text one it replaced, kept here as the oracle:
/// every record of every kind, with strings that need escaping, numbers of every shape and times of
/// every fraction, encodes to the same bytes.
@Suite struct CanonicalBytesTests {
    /// The encoder before 2026-12-07: the record's field list written as a `String`, then its UTF-8.
    static func textEncoding(station: String, source: RecordSource, sourceSeq: Int64, record: Record) -> [UInt8] {
        var out = "{\"station\":"
        JSONText.appendString(station, to: &out)
        out += ",\"source\":\"\(source.rawValue)\",\"source_seq\":\(sourceSeq)"
        for (name, value) in record.fields {
            out += ","
            JSONText.appendString(name, to: &out)
            out += ":"
            value.appendJSON(to: &out)
        }
        return Array((out + "}").utf8)
    }

    static func randomText(_ rng: inout Xorshift) -> String {
        let pieces = ["T1", "92#", "汽油", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "é", "⛽", " ", "/", "A-01", "\r"]
        return (0..<(1 + Int(rng.unit() * 5))).map { _ in pieces[Int(rng.unit() * Double(pieces.count))] }.joined()
    }

    static func randomNumber(_ rng: inout Xorshift) -> Double {
        switch Int(rng.unit() * 8) {
        case 0: return Double(Int(rng.unit() * 40_000))
        case 1: return -Double(Int(rng.unit() * 1_000))
        case 2: return (rng.unit() * 40_000 * 1_000).rounded() / 1_000
        case 3: return rng.unit() * 1e-7
        case 4: return 1e15 + Double(Int(rng.unit() * 1_000))
        case 5: return -rng.unit() * 1e22
        case 6: return 0.1 + 0.2
        default: return -0.0
        }
    }

    static func randomTime(_ rng: inout Xorshift) -> Timestamp {
        let micros = Int64(rng.unit() * 4e15) - 1_000_000_000_000_000
        switch Int(rng.unit() * 4) {
        case 0: return Timestamp(microseconds: micros / 1_000_000 * 1_000_000)
        case 1: return Timestamp(microseconds: micros / 1_000 * 1_000)
        case 2: return Timestamp(microseconds: 253_402_300_800_000_000 + Int64(rng.unit() * 1e15))  // year 10000 on
        default: return Timestamp(microseconds: micros)
        }
    }

    static func randomRecord(_ rng: inout Xorshift) -> Record {
        func text() -> String { randomText(&rng) }
        func num() -> Double { randomNumber(&rng) }
        func maybe<T>(_ v: @autoclosure () -> T) -> T? { rng.unit() < 0.5 ? v() : nil }
        func time() -> Timestamp { randomTime(&rng) }
        switch Int(rng.unit() * 7) {
        case 0:
            return .sale(Sale(nozzle: text(), grade: text(), volumeL: num(), unitPrice: num(), amount: num(),
                              startedAt: time(), endedAt: time(), totalizerStartL: maybe(num()),
                              totalizerEndL: maybe(num()), receiptNo: maybe(text())))
        case 1:
            return .delivery(Delivery(tank: text(), supplier: text(), batch: maybe(text()), billNo: text(), grade: text(),
                                      declaredVolumeL: num(), densityKgM3: maybe(num()), vehicle: maybe(text()),
                                      startedAt: time(), endedAt: time()))
        case 2:
            return .tankReading(TankReading(tank: text(), at: time(), volumeL: num(), tcVolumeL: maybe(num()),
                                            heightMM: maybe(num()), ullageL: maybe(num()), waterMM: maybe(num()),
                                            temperatureC: maybe(num()), status: maybe(Int(rng.unit() * 2e9) - 1_000_000_000)))
        case 3:
            return .totalizerReading(TotalizerReading(nozzle: text(), at: time(), volumeTotalL: num(), amountTotal: maybe(num())))
        case 4:
            return .vapourReading(VapourReading(nozzle: maybe(text()), tank: maybe(text()), device: maybe(text()), at: time(),
                                                alRatio: maybe(num()), pressurePa: maybe(num()), concentrationGM3: maybe(num()),
                                                factors: (0..<Int(rng.unit() * 3)).map { _ in text() }))
        case 5:
            return .deviceStatus(DeviceStatus(device: text(), at: time(), state: DeviceStatus.State.allCases[Int(rng.unit() * 3)],
                                              codes: (0..<Int(rng.unit() * 3)).map { _ in text() }))
        default:
            return .priceChange(PriceChange(grade: text(), unitPrice: num(), effectiveAt: time()))
        }
    }

    @Test func bytesAreTheTextEncodingsBytes() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int(Int32.max))) { seed in
            var rng = Xorshift(seed: UInt64(seed) + 1)
            let station = Self.randomText(&rng)
            let source = RecordSource.allCases[Int(rng.unit() * 3)]
            let seq = Int64(rng.unit() * 1e12) - 1
            for _ in 0..<8 {
                let record = Self.randomRecord(&rng)
                let bytes = CanonicalEncoding.encode(station: station, source: source, sourceSeq: seq, record: record)
                #expect(bytes == Self.textEncoding(station: station, source: source, sourceSeq: seq, record: record),
                        "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    @Test func exactSpellings() {
        var out: [UInt8] = []
        JSONText.appendInteger(Int64.min, to: &out)
        out.append(32)
        JSONText.appendInteger(0, to: &out)
        out.append(32)
        JSONText.appendNumber(-0.0, to: &out)
        out.append(32)
        JSONText.appendNumber(1e15, to: &out)
        out.append(32)
        JSONText.appendNumber(999_999_999_999_999, to: &out)
        out.append(32)
        JSONText.appendString("a\"b\\c\u{7}\n汽", to: &out)
        out.append(32)
        Timestamp(microseconds: 1_788_220_800_120_000).appendRFC3339(to: &out)
        out.append(32)
        Timestamp(microseconds: -1).appendRFC3339(to: &out)
        #expect(String(decoding: out, as: UTF8.self)
                == #"-9223372036854775808 0 0 1000000000000000.0 999999999999999 "a\"b\\c\u0007\n汽" 2026-09-01T00:00:00.12Z 1969-12-31T23:59:59.999999Z"#)
    }
}

@Suite struct HashChainTests {
    func chain(_ bodies: [[UInt8]]) -> [StoredLink] {
        var a = ChainAppender(headPosition: 0, headHash: HashChain.genesis)
        return bodies.map { body in
            let l = a.append(body: body)
            return StoredLink(position: l.position, body: body, contentHash: HashChain.contentHash(body), previous: l.previous, hash: l.hash)
        }
    }

    func verify(_ rows: [StoredLink], head: (Int64, [UInt8])? = nil) -> ChainBreak? {
        var v = ChainVerifier()
        do {
            for r in rows { try v.check(r) }
            let h = head ?? (rows.last?.position ?? 0, rows.last?.hash ?? HashChain.genesis)
            try v.finish(headPosition: h.0, headHash: h.1)
            return nil
        } catch {
            return error
        }
    }

    @Test func knownFirstLink() {
        // SHA-256(32 zero bytes ‖ be64(1) ‖ "a"), computed independently with Python's hashlib.
        let link = HashChain.link(previous: HashChain.genesis, position: 1, body: Array("a".utf8))
        #expect(link.hexString == "00f87f5348b32d1caf5e59cbfadc31d568b7b2d04679e0d52b5aad8c5d4dfeed")
        #expect(link == HashChain.link(previous: HashChain.genesis, position: 1, body: Array("a".utf8)))
        #expect(link != HashChain.link(previous: HashChain.genesis, position: 2, body: Array("a".utf8)))
    }

    @Test func intactChainVerifies() {
        #expect(verify(chain((1...50).map { Array("record \($0)".utf8) })) == nil)
        #expect(verify([]) == nil)
    }

    @Test func editedBodyIsCaughtAtItsPosition() {
        var rows = chain((1...10).map { Array("record \($0)".utf8) })
        rows[6].body = Array("record 7 edited".utf8)
        #expect(verify(rows) == ChainBreak(position: 7, reason: .contentMismatch))
        rows[6].contentHash = HashChain.contentHash(rows[6].body)
        #expect(verify(rows) == ChainBreak(position: 7, reason: .hashMismatch))
    }

    @Test func droppedOrReorderedRowsAreCaught() {
        let rows = chain((1...10).map { Array("r\($0)".utf8) })
        var dropped = rows
        dropped.remove(at: 3)
        #expect(verify(dropped) == ChainBreak(position: 5, reason: .gap(expected: 4)))
        var swapped = rows
        swapped.swapAt(2, 3)
        #expect(verify(swapped) == ChainBreak(position: 4, reason: .gap(expected: 3)))
        #expect(verify(Array(rows.dropLast()), head: (10, rows[9].hash)) == ChainBreak(position: 10, reason: .headMismatch))
    }

    @Test func rewrittenTailIsCaughtAtTheFirstRewrittenRow() {
        var rows = chain((1...10).map { Array("r\($0)".utf8) })
        // An attacker recomputes row 5's hash but not the link of row 6.
        rows[4].body = Array("forged".utf8)
        rows[4].contentHash = HashChain.contentHash(rows[4].body)
        rows[4].hash = HashChain.link(previous: rows[3].hash, position: 5, body: rows[4].body)
        #expect(verify(rows) == ChainBreak(position: 6, reason: .previousMismatch))
    }

    /// Any single flipped byte in any body breaks verification exactly at that row.
    @Test func anyByteFlipIsCaught() async {
        let rows = chain((1...20).map { Array("payload number \($0) with some text".utf8) })
        await propertyCheck(input: Gen.int(in: 0...19), Gen.int(in: 0...15), Gen.int(in: 1...255)) { row, byte, mask in
            var tampered = rows
            tampered[row].body[byte] ^= UInt8(mask)
            tampered[row].contentHash = nil
            #expect(verify(tampered)?.position == Int64(row + 1))
        }
    }

    @Test func hexRoundTrip() {
        let bytes: [UInt8] = [0, 1, 0xAB, 0xFF]
        #expect(bytes.hexString == "0001abff")
        #expect([UInt8](hex: "0001ABff") == bytes)
        #expect([UInt8](hex: "0g") == nil)
    }
}
