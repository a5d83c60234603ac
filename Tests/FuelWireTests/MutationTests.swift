import FuelModel
import FuelWire
import PropertyBased
import Testing

/// Decoders meet hostile input: mutated copies of valid inputs (flipped, dropped, inserted and
/// duplicated bytes, truncation) must be answered with a value or an error, never a crash.
@Suite struct MutationTests {
    static let pushLines = PushRecordCodecTests.briefLines.map { Array($0.utf8) }
    static let hj212 = Array("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n".utf8)
    static let tls = VeederRootTLS.encodeReply(
        function: "i20100", time: "2611010800",
        body: Array(("011000107" + "461C4000461C400045FA000042C800003F80000042700000FF800000").utf8))

    static func mutate(_ input: [UInt8], seed: Int, steps: Int) -> [UInt8] {
        var rng = SplitMix(seed: UInt64(bitPattern: Int64(seed)))
        var b = input
        for _ in 0..<steps {
            let pos = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
            switch rng.next() % 5 {
            case 0 where !b.isEmpty: b[pos] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            case 1 where !b.isEmpty: b.remove(at: pos)
            case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
            case 3: b.insert(contentsOf: b[pos..<min(b.count, pos + 8)], at: pos)
            default: b = Array(b.prefix(pos))
            }
        }
        return b
    }

    @Test func pushDecoderNeverCrashes() async {
        await propertyCheck(count: 3000, input: Gen.int(in: 0...Int.max), Gen.int(in: 1...6), Gen.int(in: 0...2)) { seed, steps, which in
            let input = Self.mutate(Self.pushLines[which], seed: seed, steps: steps)
            if let line = try? PushRecordCodec.decode(input) {
                // Whatever decodes must encode and decode to the same record.
                #expect((try? PushRecordCodec.decode(Array(PushRecordCodec.encode(line).utf8))) == line)
            }
        }
    }

    @Test func hj212DecoderNeverCrashes() async {
        await propertyCheck(count: 3000, input: Gen.int(in: 0...Int.max), Gen.int(in: 1...6)) { seed, steps in
            _ = try? HJ212.decode(Self.mutate(Self.hj212, seed: seed, steps: steps))
        }
    }

    @Test func tlsDecoderNeverCrashes() async {
        await propertyCheck(count: 3000, input: Gen.int(in: 0...Int.max), Gen.int(in: 1...6)) { seed, steps in
            if case .data(_, _, let body)? = try? VeederRootTLS.decodeReply(Self.mutate(Self.tls, seed: seed, steps: steps)) {
                _ = try? VeederRootTLS.parseInventory(body, units: .usCustomary)
            }
        }
    }
}

/// A tiny deterministic generator so a failing seed replays exactly.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
