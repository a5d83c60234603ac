import AsyncAlgorithms
import FuelStore
import Logging
import ServiceLifecycle

/// Keeps the ledger's monthly partitions ``LedgerPeriods/monthsAhead`` months ahead, summarises the
/// closed ones and rewrites them in chain order (``LedgerPeriods/summariseClosed(now:)``,
/// ``LedgerPeriods/compactClosed()``): once at startup and every `every` after, so
/// months keep coming whatever the uptime, and a daemon back after months off fills the gap before
/// its first append.
public struct LedgerPartitionService: Service {
    let periods: LedgerPeriods
    let every: Duration
    let logger: Logger

    public init(periods: LedgerPeriods, every: Duration = .seconds(3600), logger: Logger) {
        self.periods = periods
        self.every = every
        self.logger = logger
    }

    public func run() async throws {
        await keep()
        for await _ in AsyncTimerSequence(interval: every, clock: .continuous).cancelOnGracefulShutdown() {
            await keep()
        }
    }

    func keep() async {
        do {
            let made = try await periods.keepAhead()
            if !made.isEmpty { logger.notice("ledger partitions made", metadata: ["partitions": "\(made.joined(separator: ", "))"]) }
        } catch {
            // Months are made well ahead: the next pass tries again long before one is needed.
            logger.warning("ledger partitions not made", metadata: ["error": "\(describeDatabaseError(error))"])
        }
        do {
            let summarised = try await periods.summariseClosed()
            if !summarised.isEmpty { logger.notice("ledger months summarised", metadata: ["partitions": "\(summarised.joined(separator: ", "))"]) }
            let compacted = try await periods.compactClosed()
            if !compacted.isEmpty { logger.notice("ledger months rewritten in chain order", metadata: ["partitions": "\(compacted.joined(separator: ", "))"]) }
        } catch {
            // Until it is, a resend of that month's records is looked up in it as in any unsummarised month.
            logger.warning("ledger months not summarised or compacted", metadata: ["error": "\(describeDatabaseError(error))"])
        }
    }
}
