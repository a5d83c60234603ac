import FuelAsync
import Foundation
import Testing

@Suite struct TimeLimitTests {
    struct TooSlow: Error {}
    struct Aborted: Error {}

    @Test func answersAtTheLimitEvenWhenTheWorkIgnoresCancellation() async throws {
        let started = ContinuousClock.now
        await #expect(throws: TooSlow.self) {
            try await withTimeLimit(.milliseconds(300), timeoutError: TooSlow()) {
                // Work that does not react to cancellation (a query on a server that stopped answering).
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { c.resume() }
                }
                return 1
            }
        }
        // Long before the work ends (30 s); the bound is loose because parallel tests share two cores.
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test func returnsTheWorksResultWhenInTime() async throws {
        let v = try await withTimeLimit(.seconds(5), timeoutError: TooSlow()) { 42 }
        #expect(v == 42)
    }

    @Test func abortsWhenAskedToWithItsError() async throws {
        await #expect(throws: Aborted.self) {
            try await withTimeLimit(.seconds(30), timeoutError: TooSlow(), abort: { Aborted() }) {
                try await Task.sleep(for: .seconds(30))
            }
        }
    }
}
