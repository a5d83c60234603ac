import FuelAsync
import Foundation
import PropertyBased
import Testing

@Suite struct BackoffTests {
    /// No jitter: the exact doubling, then the cap.
    @Test func doublesUpToTheCap() {
        let b = Backoff(base: .seconds(10), cap: .seconds(60), jitter: 0)
        #expect((1...6).map { b.delay(afterFailures: $0) } == [.seconds(10), .seconds(20), .seconds(40), .seconds(60), .seconds(60), .seconds(60)])
        // Zero or negative failures count as the first; a huge count does not overflow.
        #expect(b.delay(afterFailures: 0) == .seconds(10))
        #expect(b.delay(afterFailures: 10_000) == .seconds(60))
    }

    /// Retry-After is a floor, bounded by maxRetryAfter.
    @Test func honoursRetryAfter() {
        let b = Backoff(base: .seconds(1), cap: .seconds(30), jitter: 0, maxRetryAfter: .seconds(120))
        #expect(b.delay(afterFailures: 1, retryAfter: .seconds(7)) == .seconds(7))
        #expect(b.delay(afterFailures: 5, retryAfter: .seconds(7)) == .seconds(16))
        #expect(b.delay(afterFailures: 1, retryAfter: .seconds(100_000)) == .seconds(120))
    }

    @Test func parsesRetryAfterHeaders() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(Backoff.retryAfter("120") == .seconds(120))
        #expect(Backoff.retryAfter(" 0 ") == .seconds(0))
        #expect(Backoff.retryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == .seconds(30))
        #expect(Backoff.retryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now: now) == .seconds(0))
        #expect(Backoff.retryAfter(nil) == nil)
        #expect(Backoff.retryAfter("soon") == nil)
        #expect(Backoff.retryAfter("-5") == nil)
    }

    /// With jitter the wait lies in [(1 − jitter)·d, d] for the deterministic d, never below a Retry-After.
    @Test func jitterStaysWithinItsShare() async {
        await propertyCheck(input: Gen.int(in: 1...40), Gen.int(in: 0...100), Gen.int(in: 0...200)) { failures, jitterPercent, retry in
            let jitter = Double(jitterPercent) / 100
            let b = Backoff(base: .milliseconds(250), cap: .seconds(300), jitter: jitter)
            let exact = Backoff(base: .milliseconds(250), cap: .seconds(300), jitter: 0).delay(afterFailures: failures).inSeconds
            let retryAfter: Duration? = retry == 0 ? nil : .seconds(retry)
            let d = b.delay(afterFailures: failures, retryAfter: retryAfter).inSeconds
            let floor = Double(retry)
            #expect(d >= max(exact * (1 - jitter), floor) - 1e-9)
            #expect(d <= max(exact, floor) + 1e-9)
        }
    }
}
