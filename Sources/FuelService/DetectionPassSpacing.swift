import Synchronization

/// When each station's detectors last ran, so that under load a station is detected in passes of
/// several pushes rather than one pass a push: a pass reads the station's state, decodes it, runs
/// the detectors and encodes and commits the state again, and at thousands of pushes a second those
/// fixed costs per pass took the CPU ingest needed (`bench load`, 2026-12-03: the daemon used 0.84 of
/// a core at 3,000 records/s, detection's passes most of it). A station whose backlog fills a batch
/// is never held back.
final class DetectionPassSpacing: Sendable {
    let minimum: Duration
    private struct State {
        var lastPass: [String: ContinuousClock.Instant] = [:]
        /// The soonest a station held back becomes due (nil: none held back since the last ask).
        var soonestHeld: ContinuousClock.Instant?
    }
    private let state = Mutex(State())

    init(minimum: Duration) { self.minimum = minimum }

    /// Whether `station`, with `pending` records unprocessed, gets a pass now; if so, notes it ran.
    func take(_ station: String, pending: Int64, batchSize: Int, now: ContinuousClock.Instant = .now) -> Bool {
        guard minimum > .zero else { return true }
        return state.withLock { s in
            if pending < Int64(batchSize), let previous = s.lastPass[station], now - previous < minimum {
                let due = previous + minimum
                s.soonestHeld = min(s.soonestHeld ?? due, due)
                return false
            }
            s.lastPass[station] = now
            return true
        }
    }

    /// The soonest a station held back since the last call becomes due, and forgets it: a detection
    /// loop that ran nothing can sleep until then instead of asking for the backlog on every push.
    func takeSoonestHeld() -> ContinuousClock.Instant? {
        state.withLock { s in
            defer { s.soonestHeld = nil }
            return s.soonestHeld
        }
    }
}
