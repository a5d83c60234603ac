import FuelLedger
import PropertyBased
import Testing

/// The tank batch mix: exact cases and, against a litre-by-litre bookkeeping of a simulated tank,
/// the property that fractions times volume are the litres of each batch still in the tank.
@Suite struct BatchCompositionTests {
    @Test func aDeliveryIntoAnEmptyTankIsTheWholeTank() {
        let mix = BatchComposition.unknown.afterDelivery(batch: "A", supplier: "S1", deliveredL: 10_000, volumeBeforeL: 0)
        #expect(mix.shares == [BatchShare(batch: "A", supplier: "S1", fraction: 1)])
    }

    @Test func equalVolumesMixHalfAndHalf() {
        let a = BatchComposition.unknown.afterDelivery(batch: "A", supplier: "S1", deliveredL: 10_000, volumeBeforeL: 10_000)
        #expect(a.fraction(of: "A") == 0.5 && a.fraction(of: BatchComposition.unknownBatch) == 0.5)
        // 5,000 L left (sales take both in proportion), 15,000 L of B: A is 1/8, unknown 1/8, B 3/4.
        let b = a.afterDelivery(batch: "B", supplier: "S2", deliveredL: 15_000, volumeBeforeL: 5_000)
        #expect(b.shares.map(\.batch) == ["B", "A", BatchComposition.unknownBatch])
        #expect(abs(b.fraction(of: "B") - 0.75) < 1e-12 && abs(b.fraction(of: "A") - 0.125) < 1e-12)
    }

    @Test func theSameBatchAgainAddsUp() {
        let m = BatchComposition.unknown
            .afterDelivery(batch: "A", supplier: "S1", deliveredL: 3_000, volumeBeforeL: 0)
            .afterDelivery(batch: "A", supplier: "S1", deliveredL: 3_000, volumeBeforeL: 1_000)
        #expect(m.shares == [BatchShare(batch: "A", supplier: "S1", fraction: 1)])
    }

    @Test func anUnknownVolumeBeforeCountsAsEmpty() {
        let m = BatchComposition.unknown.afterDelivery(batch: "A", supplier: nil, deliveredL: 100, volumeBeforeL: nil)
        #expect(m.fraction(of: "A") == 1)
        #expect(BatchComposition.unknown.afterDelivery(batch: "A", supplier: nil, deliveredL: 0, volumeBeforeL: 0) == .unknown)
        #expect(BatchComposition.batchName(batch: nil, billNo: "BL-7") == "no-batch:BL-7")
    }

    @Test func tinySharesAreDroppedAndTheRestStillSumsToOne() {
        var m = BatchComposition.unknown
        for i in 0..<40 { m = m.afterDelivery(batch: "B\(i)", supplier: nil, deliveredL: 20_000, volumeBeforeL: 5_000) }
        #expect(m.shares.count < 12)
        #expect(abs(m.shares.reduce(0) { $0 + $1.fraction } - 1) < 1e-12)
        #expect(m.shares.allSatisfy { $0.fraction >= BatchComposition.smallestShare })
        #expect(m.shares.first?.batch == "B39")
    }

    /// A tank simulated litre by litre: deliveries add a batch, sales remove every batch in proportion.
    /// The mix, fed only the volume before each delivery, must agree with the bookkeeping.
    @Test func fractionsTrackTheLitresOfEachBatch() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(Int32.max)), Gen.int(in: 1...30)) { seed, deliveries in
            var rng = Xorshift(seed: UInt64(seed) + 1)
            var litres: [String: Double] = [BatchComposition.unknownBatch: 4_000]
            var mix = BatchComposition.unknown
            for d in 0..<deliveries {
                // Sales: up to 90 % of what is there, taken in proportion.
                let total = litres.values.reduce(0, +)
                let sold = total * rng.unit() * 0.9
                for k in litres.keys { litres[k]! *= (total - sold) / total }
                let before = total - sold
                let batch = "B\(Int(rng.unit() * 4))"
                let added = 1_000 + rng.unit() * 19_000
                litres[batch, default: 0] += added
                mix = mix.afterDelivery(batch: batch, supplier: nil, deliveredL: added, volumeBeforeL: before)
                let now = litres.values.reduce(0, +)
                // Dropping shares below a millionth renormalises the rest: at most a few millionths of
                // the tank per delivery, so the bound grows with the deliveries.
                for (b, l) in litres where l / now >= 1e-5 {
                    #expect(abs(mix.fraction(of: b) * now - l) <= 4e-6 * Double(d + 1) * now + 1e-6, "delivery \(d), batch \(b)")
                }
            }
        }
    }
}

struct Xorshift {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func unit() -> Double {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Double(state >> 11) / Double(1 << 53)
    }
}
