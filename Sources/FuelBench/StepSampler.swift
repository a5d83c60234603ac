import Foundation
import FuelStore
import Logging
import PostgresNIO

/// What the machine and PostgreSQL did during a load step, second by second, so that a stall (a
/// second whose p99 is bad) can be set beside what happened in it: CPU and I/O wait (`/proc/stat`),
/// the daemon's CPU (`/proc/PID/stat`), dirty and writeback page cache (`/proc/meminfo`), WAL
/// written and synced (`pg_stat_wal`, with `track_wal_io_timing`), checkpoints and buffers that
/// client backends had to write themselves (`pg_stat_bgwriter`), the checkpointer's state,
/// autovacuum, and what the busy client backends were waiting on (`pg_stat_activity`), sampled
/// five times a second.
final class StepSampler: @unchecked Sendable {
    /// One second of the step.
    struct Second: Sendable {
        var cpuBusy = 0.0, iowait = 0.0, daemonCores = 0.0
        var dirtyMB = 0.0, writebackMB = 0.0
        var walMB = 0.0, walSyncs = 0, walSyncMs = 0.0
        var checkpoints = 0, backendBuffers = 0
        var checkpointer: Set<String> = []
        var vacuum: Set<String> = []
        /// Wait events of active client backends, counted over the second's samples ("CPU": none).
        var waits: [String: Int] = [:]
    }

    /// Cumulative counters and momentary values at one instant.
    struct Sample: Sendable {
        var at: Double
        var cpuTotal = 0.0, cpuIdle = 0.0, cpuIowait = 0.0, daemonTicks = 0.0
        var dirtyKB = 0.0, writebackKB = 0.0
        var walBytes = 0.0, walSyncs = 0, walSyncMs = 0.0, checkpoints = 0, backendBuffers = 0
        var checkpointer = "", vacuum = "", waits = ""
    }

    private let lock = NSLock()
    private var samples: [Sample] = []
    private let pid: Int32
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pid: Int32) { self.pid = pid }

    /// Samples every 200 ms from `origin` until cancelled, on one connection of `database`.
    func run(database: FuelDatabase, origin: ContinuousClock.Instant) async {
        try? await database.longConnection("step sampler") { conn in
            while !Task.isCancelled {
                var s = Sample(at: (ContinuousClock.now - origin) / .seconds(1))
                self.readProc(&s)
                if let row = try? await conn.query(Self.query, logger: database.logger).collect().first,
                   let v = try? row.decode((Int, Int, Double, Int, Double, String, String, String).self) {
                    (s.checkpoints, s.backendBuffers, s.walBytes, s.walSyncs, s.walSyncMs, s.checkpointer, s.vacuum, s.waits) = v
                }
                self.lock.withLock { self.samples.append(s) }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private static let query: PostgresQuery = """
        SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter),
               (SELECT buffers_backend FROM pg_stat_bgwriter),
               (SELECT wal_bytes::float8 FROM pg_stat_wal), (SELECT wal_sync FROM pg_stat_wal),
               (SELECT wal_sync_time FROM pg_stat_wal),
               (SELECT coalesce(max(wait_event), 'working') FROM pg_stat_activity WHERE backend_type = 'checkpointer'),
               (SELECT coalesce(string_agg(relid::regclass::text, ' '), '') FROM pg_stat_progress_vacuum),
               (SELECT coalesce(string_agg(coalesce(wait_event_type || ':' || wait_event, 'CPU'), ' '), '')
                  FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid())
        """

    private func readProc(_ s: inout Sample) {
        if let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
           let cpu = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) {
            let f = cpu.split(separator: " ").dropFirst().compactMap { Double($0) }
            if f.count >= 5 { (s.cpuTotal, s.cpuIdle, s.cpuIowait) = (f.prefix(8).reduce(0, +), f[3], f[4]) }
        }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // Fields after the command's closing parenthesis: state is the 3rd field, utime the 14th, stime the 15th.
            let f = stat[stat.index(after: close)...].split(separator: " ")
            if f.count > 12, let user = Double(f[11]), let system = Double(f[12]) { s.daemonTicks = user + system }
        }
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in info.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count >= 2, let kb = Double(parts[1]) else { continue }
                if parts[0] == "Dirty:" { s.dirtyKB = kb }
                if parts[0] == "Writeback:" { s.writebackKB = kb }
            }
        }
    }

    /// The step's seconds: counters as differences over each second, momentary values at their worst.
    func seconds() -> [Second] {
        let samples = lock.withLock { self.samples }
        guard let last = samples.last, last.at >= 1 else { return [] }
        var result = Array(repeating: Second(), count: Int(last.at))
        for (a, b) in zip(samples, samples.dropFirst()) {
            let i = Int(b.at)
            guard i >= 1, i - 1 < result.count else { continue }
            var second = result[i - 1]
            let total = b.cpuTotal - a.cpuTotal
            if total > 0 {
                // Each pair covers part of the second: weigh by its share of the second's samples.
                second.cpuBusy += (1 - (b.cpuIdle - a.cpuIdle + b.cpuIowait - a.cpuIowait) / total) * (b.at - a.at)
                second.iowait += (b.cpuIowait - a.cpuIowait) / total * (b.at - a.at)
            }
            second.daemonCores += (b.daemonTicks - a.daemonTicks) / ticksPerSecond
            second.dirtyMB = max(second.dirtyMB, b.dirtyKB / 1024)
            second.writebackMB = max(second.writebackMB, b.writebackKB / 1024)
            second.walMB += max(0, b.walBytes - a.walBytes) / 1_048_576
            second.walSyncs += max(0, b.walSyncs - a.walSyncs)
            second.walSyncMs += max(0, b.walSyncMs - a.walSyncMs)
            second.checkpoints += max(0, b.checkpoints - a.checkpoints)
            second.backendBuffers += max(0, b.backendBuffers - a.backendBuffers)
            if b.checkpointer != "CheckpointerMain" && !b.checkpointer.isEmpty { second.checkpointer.insert(b.checkpointer) }
            for table in b.vacuum.split(separator: " ") { second.vacuum.insert(String(table)) }
            for wait in b.waits.split(separator: " ") { second.waits[String(wait), default: 0] += 1 }
            result[i - 1] = second
        }
        return result
    }

    /// One line for a second: what the machine and PostgreSQL did in it.
    static func describe(_ s: Second) -> String {
        var parts = [String(format: "CPU %.0f %% (daemon %.2f cores), iowait %.0f %%, dirty %.0f MB, writeback %.0f MB, WAL %.1f MB in %d syncs (%.0f ms)",
                            s.cpuBusy * 100, s.daemonCores, s.iowait * 100, s.dirtyMB, s.writebackMB, s.walMB, s.walSyncs, s.walSyncMs)]
        if s.backendBuffers > 0 { parts.append("\(s.backendBuffers) buffers written by backends") }
        if s.checkpoints > 0 { parts.append("\(s.checkpoints) checkpoint(s) ended") }
        if !s.checkpointer.isEmpty { parts.append("checkpointer " + s.checkpointer.sorted().joined(separator: "/")) }
        if !s.vacuum.isEmpty { parts.append("autovacuum " + s.vacuum.sorted().joined(separator: ", ")) }
        let waits = s.waits.sorted { $0.value > $1.value }.prefix(4).map { "\($0.key)×\($0.value)" }
        if !waits.isEmpty { parts.append("waits " + waits.joined(separator: " ")) }
        return parts.joined(separator: "; ")
    }

    /// The median of each figure over `seconds`: a typical second, to compare a stall with.
    static func typical(_ seconds: [Second]) -> Second {
        func median(_ f: (Second) -> Double) -> Double { seconds.map(f).quantile(0.5) ?? 0 }
        var t = Second()
        (t.cpuBusy, t.iowait, t.daemonCores) = (median(\.cpuBusy), median(\.iowait), median(\.daemonCores))
        (t.dirtyMB, t.writebackMB, t.walMB) = (median(\.dirtyMB), median(\.writebackMB), median(\.walMB))
        (t.walSyncs, t.walSyncMs) = (Int(median { Double($0.walSyncs) }), median(\.walSyncMs))
        t.backendBuffers = Int(median { Double($0.backendBuffers) })
        return t
    }
}
