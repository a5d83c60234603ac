import FuelDetect
@testable import FuelService
import Testing

/// The detector states a daemon keeps after committing them: handed out only for the cursor they
/// were committed at, bounded, and nothing kept at capacity 0.
@Suite struct DetectorStateCacheTests {
    @Test func aStateIsHandedOutOnlyAtTheCursorItWasCommittedAt() {
        let cache = DetectorStateCache(capacity: 10)
        #expect(cache.state(of: "S1", at: 0) == nil)
        cache.committed(StationDetector(station: "S1"), station: "S1", cursor: 40)
        #expect(cache.state(of: "S1", at: 40) == StationDetector(station: "S1"))
        #expect(cache.state(of: "S1", at: 41) == nil, "another replica moved the station on")
        #expect(cache.state(of: "S1", at: 39) == nil)
        #expect(cache.state(of: "S2", at: 40) == nil)
        cache.forget("S1")
        #expect(cache.state(of: "S1", at: 40) == nil && cache.count == 0)
    }

    @Test func pastCapacityTheLeastRecentlyCommittedGoFirst() {
        let cache = DetectorStateCache(capacity: 20)
        for i in 0..<20 { cache.committed(StationDetector(station: "S\(i)"), station: "S\(i)", cursor: 1) }
        // S0 committed again: now the most recent.
        cache.committed(StationDetector(station: "S0"), station: "S0", cursor: 2)
        #expect(cache.count == 20)
        cache.committed(StationDetector(station: "S20"), station: "S20", cursor: 1)
        // One over: a tenth of the capacity and the one over go, the oldest (S1, S2, S3).
        #expect(cache.count == 18)
        #expect(cache.state(of: "S0", at: 2) != nil && cache.state(of: "S20", at: 1) != nil && cache.state(of: "S4", at: 1) != nil)
        #expect((1...3).allSatisfy { cache.state(of: "S\($0)", at: 1) == nil })
    }

    @Test func capacityZeroKeepsNothing() {
        let cache = DetectorStateCache(capacity: 0)
        cache.committed(StationDetector(station: "S1"), station: "S1", cursor: 1)
        #expect(cache.state(of: "S1", at: 1) == nil && cache.count == 0)
    }
}
