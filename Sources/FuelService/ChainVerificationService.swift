import FuelFeeds
import FuelStore
import Logging
import ServiceLifecycle

/// Recomputes each station's chain from its stored bodies, the one verified longest ago first, so
/// that every chain is verified at least every `every` and the console can say when it last was.
/// One station at a time, with a pause between them: the ledger's readers and writers come first.
public struct ChainVerificationService: Service {
    let audit: ChainAudit
    let every: Duration
    /// Between two stations when more are due, and between looks when none is.
    let pause: Duration
    let idle: Duration
    let logger: Logger

    public init(audit: ChainAudit, every: Duration, pause: Duration = .seconds(1), idle: Duration = .seconds(60), logger: Logger) {
        self.audit = audit
        self.every = every
        self.pause = pause
        self.idle = idle
        self.logger = logger
    }

    public func run() async throws {
        try await untilGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            var wait = idle
            do {
                if let station = try await audit.stalestStation(olderThan: every.inSeconds) {
                    let report = try await audit.verify(station: station)
                    if let (_, found) = report.firstBreak {
                        logger.error("chain broken", metadata: ["station": "\(station)", "break": "\(found)"])
                    } else {
                        logger.debug("chain verified", metadata: ["station": "\(station)", "records": "\(report.recordsChecked)"])
                    }
                    wait = pause
                }
            } catch {
                if Task.isCancelled { return }  // shutting down mid-verification
                logger.warning("chain not verified", metadata: ["error": "\(describeDatabaseError(error))"])
            }
            try? await Task.sleep(for: wait)
        }
    }
}
