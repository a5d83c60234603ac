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
