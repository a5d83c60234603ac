import FuelAsync
import Foundation
import Synchronization
import Testing

@Suite struct TimeLimitTests {
    struct TooSlow: Error {}
    struct Aborted: Error {}

    @Test func answersAtTheLimitEvenWhenTheWorkIgnoresCancellation() async throws {
        let workEnded = Mutex(false)
        await #expect(throws: TooSlow.self) {
            try await withTimeLimit(.milliseconds(300), timeoutError: TooSlow()) {
                // Work that does not react to cancellation (a query on a server that stopped answering).
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 600) {
                        workEnded.withLock { $0 = true }
                        c.resume()
                    }
                }
                return 1
            }
        }
        // The answer came while the work still ran: it did not wait for the work (which takes 10 min: on a CI machine running two test suites at once the 300 ms timer once fired after 30 s).
        // (A flag, not a clock bound: parallel tests on two cores can delay the timer by seconds.)
        #expect(workEnded.withLock { $0 } == false)
    }

    /// A caller that is cancelled (a daemon shutting down) is not held by work that ignores it.
    @Test func aCancelledCallerReturnsAtOnceEvenWhenTheWorkIgnoresCancellation() async throws {
        let workEnded = Mutex(false)
        let caller = Task {
            try await withTimeLimit(.seconds(3600), timeoutError: TooSlow()) {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 600) {
                        workEnded.withLock { $0 = true }
                        c.resume()
                    }
                }
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(workEnded.withLock { $0 } == false)
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
