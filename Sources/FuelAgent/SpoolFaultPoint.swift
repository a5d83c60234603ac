#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers
import Glibc

/// A fault test's way to cut the agent at the one point a SIGKILL from outside cannot aim at: in
/// the middle of a spool write, after some of a transaction's rows are written and before its
/// commit. Armed only by `FUELWARDEN_AGENT_DIE_IN_SPOOL_WRITE=N` in the agent's environment
/// (`fuelwarden faults --scenarios agent` sets it for one start): the N-th append of two records or
/// more kills its own process with SIGKILL halfway through its rows. Unset, it does nothing.
///
/// What it shows: SQLite's write-ahead log keeps a transaction without its commit frame out of the
/// database on the next open, so a cut write leaves no record spooled, numbered or half-kept; the
/// records come again from their source (the drop file still on disk, the console's next poll).
package struct SpoolFaultPoint: Sendable {
    package static let environmentKey = "FUELWARDEN_AGENT_DIE_IN_SPOOL_WRITE"

    /// The append (1-based, counting those of two records or more) to die in; nil: never.
    package let dieInAppend: Int?
    private let counter = Counter()

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        dieInAppend = environment[Self.environmentKey].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Whether the append now starting, of `records` records, is the one to die in.
    package func armed(records: Int) -> Bool {
        guard let n = dieInAppend, records >= 2 else { return false }
        return counter.next() == n
    }

    /// SIGKILL to this process: no handler, no flush, no rollback.
    func die() -> Never {
        kill(getpid(), SIGKILL)
        // SIGKILL cannot be caught; this is only reached if the signal was not delivered at once.
        while true { pause() }
    }

    private final class Counter: Sendable {
        private let value = NIOLockedValueBox(0)
        func next() -> Int { value.withLockedValue { $0 += 1; return $0 } }
    }
}
