import Foundation

/// SplitMix64: a small, fast, seedable generator, so every scenario is reproducible from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Standard normal (Box–Muller).
    public mutating func normal(mean: Double = 0, sd: Double = 1) -> Double {
        let u1 = max(uniform(), 1e-12), u2 = uniform()
        return mean + sd * sqrt(-2 * log(u1)) * cos(2 * .pi * u2)
    }

    /// Exponentially distributed wait with the given mean.
    public mutating func exponential(mean: Double) -> Double { -mean * log(max(1 - uniform(), 1e-300)) }

    /// Poisson-distributed count (Knuth; fine for the small means used per minute).
    public mutating func poisson(_ lambda: Double) -> Int {
        let l = exp(-lambda)
        var k = 0
        var p = 1.0
        repeat {
            k += 1
            p *= uniform()
        } while p > l
        return k - 1
    }
}
