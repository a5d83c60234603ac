import FuelDetect
import Synchronization

/// The detector states this daemon committed last, by station, so that the next pass over a station
/// starts from memory instead of reading its state back and decoding it (~30 KB of JSON a station:
/// `perf` of the daemon at 6,000 records/s, 2026-12-06, put the decode at 6.4 % of its CPU, and the
/// read is a round trip and a TOASTed value decompressed).
///
/// An entry is handed out only for the cursor the database holds (the backlog's), so a station another
/// replica moved on, or a commit whose answer was lost, is read afresh. Bounded: past `capacity`
/// stations the least recently committed tenth is forgotten (read from the database when next due).
final class DetectorStateCache: Sendable {
    let capacity: Int
    private struct Entry {
        var cursor: Int64
        var detector: StationDetector
        var used: UInt64
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())

    /// `capacity` 0 keeps nothing (every pass reads its state from the database).
    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// The state committed for `station` at `cursor`, if this daemon committed it and still holds it.
    func state(of station: String, at cursor: Int64) -> StationDetector? {
        state.withLock { s in
            guard let e = s.entries[station], e.cursor == cursor else { return nil }
            return e.detector
        }
    }

    /// Remembers `detector` as committed for `station` at `cursor`.
    func committed(_ detector: StationDetector, station: String, cursor: Int64) {
        guard capacity > 0 else { return }
        state.withLock { s in
            s.clock += 1
            s.entries[station] = Entry(cursor: cursor, detector: detector, used: s.clock)
            guard s.entries.count > capacity else { return }
            // Evicting a tenth at a time keeps the sort off the path of most commits.
            let drop = max(1, s.entries.count - capacity + capacity / 10)
            for (station, _) in s.entries.sorted(by: { $0.value.used < $1.value.used }).prefix(drop) {
                s.entries[station] = nil
            }
        }
    }

    /// Forgets `station` (its state moved elsewhere).
    func forget(_ station: String) {
        _ = state.withLock { $0.entries.removeValue(forKey: station) }
    }

    /// Stations held.
    var count: Int { state.withLock { $0.entries.count } }
}
