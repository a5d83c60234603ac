import FuelSim

/// Mutates inputs the way fuzzers do: flipped, dropped, inserted, duplicated and overwritten
/// bytes, interesting values, truncation and splicing with another input. Deterministic from its
/// seed, so a failing input is reproduced from (seed, iteration).
package struct ByteMutator: Sendable {
    var rng: SeededRandom

    package init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    package mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }

    /// Bytes the decoders treat specially: frame markers, separators, digits and limits.
    static let interesting: [UInt8] = Array("#&;=,-\r\n0123456789ABCDEFabcdef".utf8) + [0x00, 0x01, 0x03, 0x7F, 0x80, 0xFF]

    package mutating func mutate(_ input: [UInt8], steps: Int, other: [UInt8] = []) -> [UInt8] {
        var b = input
        for _ in 0..<steps {
            let pos = int(b.count + 1)
            switch int(8) {
            case 0 where !b.isEmpty: b[min(pos, b.count - 1)] ^= UInt8(truncatingIfNeeded: 1 << int(8))
            case 1 where !b.isEmpty: b.remove(at: min(pos, b.count - 1))
            case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
            case 3 where !b.isEmpty:
                let from = int(b.count)
                b.insert(contentsOf: b[from..<min(b.count, from + 1 + int(16))], at: pos)
            case 4 where !b.isEmpty: b[min(pos, b.count - 1)] = Self.interesting[int(Self.interesting.count)]
            case 5: b.insert(Self.interesting[int(Self.interesting.count)], at: pos)
            case 6 where !other.isEmpty:
                let from = int(other.count)
                b = Array(b.prefix(pos)) + other[from...]
            default: b = Array(b.prefix(pos))
            }
        }
        return b
    }
}
