import PostgresNIO
import Synchronization

/// Errors of the store, with messages meant for an operator.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    /// The database did not answer within the deadline.
    case unavailable(String)
    case migration(String)
    case notFound(String)
    case conflict(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let m): m
        case .unavailable(let m): "database unavailable: \(m)"
        case .migration(let m): "migration failed: \(m)"
        case .notFound(let m): m
        case .conflict(let m): m
        case .invalid(let m): m
        }
    }
}

/// A readable description of any database error: `PSQLError.description` hides the server's
/// message on purpose, so take the SQLSTATE and message from the server info.
public func describeDatabaseError(_ error: any Error) -> String {
    if let e = error as? PSQLError {
        if let info = e.serverInfo {
            let state = info[.sqlState] ?? "?"
            let message = info[.message] ?? ""
            let detail = info[.detail].map { " (\($0))" } ?? ""
            return "SQLSTATE \(state): \(message)\(detail)"
        }
        return "\(e.code)"
    }
    if let e = error as? StoreError { return e.description }
    return String(reflecting: error)
}

/// Runs `body`, failing with ``StoreError/unavailable(_:)`` when it takes longer than `seconds`, or
/// as soon as `health` reports the server down (checked every 250 ms).
///
/// The answer comes at the deadline even when `body` does not react to cancellation (a query
/// running on a server that stopped answering): `body` is cancelled and left to finish on its
/// own. postgres-nio waits for a connection without limit; every request path goes through this.
public func withDeadline<T: Sendable>(
    seconds: Double, _ what: String, health: DatabaseHealth? = nil, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withTimeLimit(seconds: seconds, timeoutError: StoreError.unavailable("\(what) took longer than \(seconds) s"),
                            abort: { health?.unavailableError() }, body)
}

/// Runs `body`, failing with `timeoutError` when it takes longer than `seconds`, or with what
/// `abort` returns as soon as it returns an error (asked every 250 ms). The answer comes on time
/// even when `body` ignores cancellation: it is cancelled and left to finish on its own.
/// So `body` must own what it works on (its own query, its own connection): it may still be
/// running after this returns. Reading a stream someone else reads next needs a task group instead.
public func withTimeLimit<T: Sendable>(
    seconds: Double, timeoutError: any Error, abort: @escaping @Sendable () -> (any Error)? = { nil },
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let work = Task { try await body() }
    let outcome = FirstOutcome<T>()
    let timeoutError = UncheckedError(error: timeoutError)
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.install(continuation)
            let timer = Task {
                let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
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
