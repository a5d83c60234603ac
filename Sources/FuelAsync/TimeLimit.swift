import Synchronization

/// Runs `body`, failing with `timeoutError` when it takes longer than `limit`, or with what
/// `abort` returns as soon as it returns an error (asked every 250 ms). The answer comes on time
/// even when `body` ignores cancellation: it is cancelled and left to finish on its own.
/// So `body` must own what it works on (its own query, its own connection): it may still be
/// running after this returns. Reading a stream someone else reads next needs a task group instead.
public func withTimeLimit<T: Sendable>(
    _ limit: Duration, timeoutError: any Error, abort: @escaping @Sendable () -> (any Error)? = { nil },
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let work = Task { try await body() }
    let outcome = FirstOutcome<T>()
    let timeoutError = UncheckedError(error: timeoutError)
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.install(continuation)
            let timer = Task {
                let deadline = ContinuousClock.now + limit
                var failure: any Error = timeoutError.error
                while ContinuousClock.now < deadline {
                    do {
                        try await Task.sleep(for: min(.milliseconds(250), deadline - ContinuousClock.now))
                    } catch {
                        return  // the work finished first
                    }
                    if let e = abort() {
                        failure = e
                        break
                    }
                }
                // Answer first, then cancel: the cancelled work must not get in with its CancellationError.
                outcome.finish(.failure(failure))
                work.cancel()
            }
            Task {
                let result = await work.result
                timer.cancel()
                outcome.finish(result)
            }
        }
    } onCancel: {
        // The caller goes at once: work stuck in a call that ignores cancellation (a driver waiting
        // on a connection that died) must not hold a shutdown. The work is cancelled and left to end.
        outcome.finish(.failure(CancellationError()))
        work.cancel()
    }
}

/// An error carried into a task (errors are not all Sendable in type, but are used read-only here).
private struct UncheckedError: @unchecked Sendable { let error: any Error }

/// Resumes a continuation once, with whichever outcome comes first.
private final class FirstOutcome<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, early: Result<T, any Error>?)>((nil, nil))

    func install(_ c: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { s in
            if let e = s.early { s.early = nil; return e }
            s.continuation = c
            return nil
        }
        if let early { c.resume(with: early) }
    }

    func finish(_ result: Result<T, any Error>) {
        let c: CheckedContinuation<T, any Error>? = state.withLock { s in
            if let c = s.continuation { s.continuation = nil; return c }
            if s.early == nil { s.early = result }
            return nil
        }
        c?.resume(with: result)
    }
}
