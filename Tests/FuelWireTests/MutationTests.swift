import FuelFuzz
import FuelModel
import FuelWire
import PropertyBased
import Testing

/// Decoders meet hostile input: mutated copies of valid inputs (flipped, dropped, inserted and
/// duplicated bytes, truncation) must be answered with a value or an error, never a crash.
@Suite struct MutationTests {
    static let pushLines = PushRecordCodecTests.briefLines.map { Array($0.utf8) }
    static func mutate(_ input: [UInt8], seed: Int, steps: Int) -> [UInt8] {
        var m = ByteMutator(seed: UInt64(bitPattern: Int64(seed)))
        return m.mutate(input, steps: steps)
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

    /// The fuzzer's own check (what `fuelwarden fuzz` runs at volume), a short run per target.
    @Test(arguments: WireFuzzer.Target.allCases)
    func fuzzedDecodersKeepTheirInvariants(_ target: WireFuzzer.Target) {
        let report = WireFuzzer(target: target, seed: 7).run(count: 20_000)
        #expect(report.violations.isEmpty, "\(report.violations.prefix(3))")
        // The mutations must reach past the first check: some inputs still decode, most do not.
        #expect(report.accepted > 0 && report.accepted < report.iterations)
    }

    @Test func fuzzInputsReplayFromSeedAndIteration() {
        let a = WireFuzzer(target: .hj212, seed: 3), b = WireFuzzer(target: .hj212, seed: 3)
        #expect(a.input(12_345) == b.input(12_345))
        #expect(a.input(1) != a.input(2))
    }
}
