@testable import FuelService
import Testing

/// A station's detection passes under load: at most one per spacing while its backlog is small,
/// never held back once a batch waits, and every pass when the spacing is zero.
@Suite struct DetectionPassSpacingTests {
    @Test func aStationIsPassedOverWithinTheSpacingUnlessABatchWaits() {
        let spacing = DetectionPassSpacing(minimum: .seconds(5))
        let t0 = ContinuousClock.now
        #expect(spacing.take("S1", pending: 5, batchSize: 100, now: t0))
        #expect(!spacing.take("S1", pending: 10, batchSize: 100, now: t0 + .seconds(1)))
        #expect(spacing.take("S2", pending: 5, batchSize: 100, now: t0 + .seconds(1)), "another station is not held back")
        #expect(spacing.take("S1", pending: 100, batchSize: 100, now: t0 + .seconds(2)), "a full batch goes at once")
        #expect(!spacing.take("S1", pending: 3, batchSize: 100, now: t0 + .seconds(6.9)))
        #expect(spacing.take("S1", pending: 3, batchSize: 100, now: t0 + .seconds(7)))
    }

    @Test func passesPerStationOverAMinuteOfPushesEveryHalfSecond() {
        for (minimum, expected) in [(Duration.zero, 120), (.seconds(5), 12), (.seconds(10), 6)] {
            let spacing = DetectionPassSpacing(minimum: minimum)
            let t0 = ContinuousClock.now
            let passes = (0..<120).filter { spacing.take("S1", pending: 5, batchSize: 5_000, now: t0 + .milliseconds(500 * $0)) }.count
            #expect(passes == expected, "minimum \(minimum): \(passes) passes")
        }
    }
}

extension DetectionPassSpacingTests {
    @Test func theSoonestHeldBackStationIsKnownOnceAsked() {
        let spacing = DetectionPassSpacing(minimum: .seconds(5))
        let t0 = ContinuousClock.now
        #expect(spacing.take("S1", pending: 1, batchSize: 10, now: t0))
        #expect(spacing.take("S2", pending: 1, batchSize: 10, now: t0 + .seconds(2)))
        #expect(spacing.takeSoonestHeld() == nil)
        #expect(!spacing.take("S2", pending: 1, batchSize: 10, now: t0 + .seconds(3)))
        #expect(!spacing.take("S1", pending: 1, batchSize: 10, now: t0 + .seconds(3)))
        #expect(spacing.takeSoonestHeld() == t0 + .seconds(5))
        #expect(spacing.takeSoonestHeld() == nil, "asked once, forgotten")
    }
}
