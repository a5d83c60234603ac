import Logging
import ServiceLifecycle
import Synchronization

/// A service that names itself while it has not ended after its graceful shutdown began (every
/// `every`): a shutdown that stalls says which part of the daemon holds it (the group's own
/// progress logs are at debug level), and the group's `maximumGracefulShutdownDuration` then
/// cancels it.
struct ShutdownWatch: Service {
    let service: any Service
    let name: String
    let every: Duration
    let logger: Logger

    /// The service's type, as a log names it (`AfterStartup<ChainVerificationService>`), not its whole value.
    static func name(of service: any Service) -> String { "\(type(of: service))" }

    func run() async throws {
        let state = WatchState()
        defer { state.finish() }
        let (name, every, logger) = (self.name, self.every, self.logger)
        try await withGracefulShutdownHandler {
            try await service.run()
        } onGracefulShutdown: {
            state.watch(Task {
                let asked = ContinuousClock.now
                while (try? await Task.sleep(for: every)) != nil, !state.isFinished {
                    logger.warning("shutdown: \(name) has not ended \(Int((ContinuousClock.now - asked) / .seconds(1))) s after it was asked to",
                                   metadata: ["service": "\(name)"])
                }
            })
        }
    }
}

/// Whether the watched service ended, and the task that reports it while it has not.
private final class WatchState: Sendable {
    private let state = Mutex<(finished: Bool, watcher: Task<Void, Never>?)>((false, nil))

    var isFinished: Bool { state.withLock { $0.finished } }

    func watch(_ task: Task<Void, Never>) {
        let finished = state.withLock { s in
            s.watcher = task
            return s.finished
        }
        if finished { task.cancel() }
    }

    func finish() {
        state.withLock { s in
            s.finished = true
            return s.watcher
        }?.cancel()
    }
}
