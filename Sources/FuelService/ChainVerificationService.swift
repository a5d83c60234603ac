import FuelFeeds
import FuelStore
import Logging
import ServiceLifecycle

/// Recomputes each station's chain from its stored bodies, the one verified longest ago first, so
/// that every chain is verified at least every `every` and the console can say when it last was:
/// the records added since its last verification (linked to where that one ended), and the whole
/// chain at least every `wholeEvery` — at years of records, recomputing every chain whole every day
/// would read the whole ledger every day. One station at a time, with a pause between them: the
/// ledger's readers and writers come first.
public struct ChainVerificationService: Service {
    let audit: ChainAudit
    let every: Duration
    let wholeEvery: Duration
    /// Between two stations when more are due, and between looks when none is.
    let pause: Duration
    let idle: Duration
    let logger: Logger

    public init(audit: ChainAudit, every: Duration, wholeEvery: Duration, pause: Duration = .seconds(1), idle: Duration = .seconds(60), logger: Logger) {
        self.audit = audit
        self.every = every
        self.wholeEvery = wholeEvery
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
                if let (station, extent) = try await audit.stalestStation(olderThan: every.inSeconds, wholeOlderThan: wholeEvery.inSeconds) {
                    let report = try await audit.verify(station: station, extent: extent)
                    if let (_, found) = report.firstBreak {
                        logger.error("chain broken", metadata: ["station": "\(station)", "break": "\(found)"])
                    } else {
                        logger.debug("chain verified", metadata: ["station": "\(station)", "records": "\(report.recordsChecked)", "extent": "\(extent)"])
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
