import AsyncHTTPClient
import Foundation
import FuelClient
import FuelLab
import FuelModel
import FuelPostgresFixture
import FuelStore
import Logging
import PostgresNIO

/// `fuelwarden bench growth`: what the ledger's size costs. A durable throwaway PostgreSQL and a
/// real `fuelwarden serve` (detection and background chain verification off: their reads are timed
/// on their own); the ledger is grown
/// step by step to each size with rows made inside PostgreSQL (`INSERT … SELECT generate_series`,
/// tank readings every 5 minutes per station continuing each chain's head), and at each size:
///
/// - **ingest**: pushes at `rate` records/s for `seconds` (open loop, as `bench load`), `pushSteps`
///   times: records/s held and push p99 of the median step, with what the checkpointer wrote meanwhile;
/// - **history export**: one day of one station's records through `GET …/history?from=&to=`
///   (median of `samples` stations), the export a regulator asks for;
/// - **detector read**: a station's newest 1,000 records by chain position, as detection reads past
///   its frontier (median of `samples` stations);
/// - **resend lookup**: the append's dedupe query for 100 records from the middle of `samples`
///   stations' histories (a collector resending old records), which looks in every month.
///
/// The rows are received as their data time (`received_at` = `at`, from 2024-01-01), so they fill
/// the ledger's monthly partitions as two years of a province would (100 M rows of 400 stations are
/// 29 months); the partitions from 2024-01 on are made first, the empty "before partitioning" one
/// dropped. The pushes go to as many other stations: a chain never goes back in `received_at`, so a
/// station pushed to now could not be grown in 2024 afterwards. The rows are not a valid hash chain (their hashes are made by formula; `verify` would
/// say so), which costs the timed paths nothing: they read and append as they would on real data.
package struct GrowthBenchmark: Sendable {
    package var sizes: [Int] = [10_000_000, 50_000_000, 100_000_000]
    package var stations = 400
    package var rate = 1_500.0
    package var seconds = 20.0
    /// Push steps at each size: the table shows the one with the median p99 (a p99 of 6,000 requests
    /// is their 60th worst, and moves from run to run with the machine's other work).
    package var pushSteps = 3
    package var samples = 9
    /// Print what PostgreSQL did for each timed read (`QueryPlanSummary`) at each size.
    package var explain = false
    package var executable: String
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(executable: String, logger: Logger, print: @escaping @Sendable (String) -> Void) {
        self.executable = executable
        self.logger = logger
        self.print = print
    }

    package struct Row: Sendable {
        package var rows: Int
        package var growSeconds: Double
        package var ingest: LoadBenchmark.Step
        package var exportMs: Double
        /// The same exports again at once (their pages now cached): what the design costs, without the disk.
        package var exportAgainMs: Double
        package var exportRecords: Int
        package var detectorReadMs: Double
        /// The old resend with the closed months summarised (migration 0018) …
        package var resendLookupMs: Double
        /// … and with none summarised (every older month read).
        package var resendLookupEveryMonthMs: Double
        /// The same for the newest pushed records (an agent's retry): the lookup's first step only.
        package var recentResendLookupMs: Double
        package var summarisedMonths: Int
        package var summariseSeconds: Double
        /// The closed months rewritten in chain order (``LedgerPeriods/compactClosed()``): how long, and the export after.
        package var compactSeconds = 0.0
        package var exportCompactedMs = 0.0
    }

    package func run() async throws -> [Row] {
        // The first `stations` are grown (their history read back); as many more take the pushes. A
        // chain never goes back in received_at, so a station pushed to now cannot be grown into 2024 after.
        let fixture = try await ProvinceFixture.make(stations: 2 * stations, database: "fuelwarden_growth", logger: logger, print: print)
        defer { fixture.stop() }
        let log = NSTemporaryDirectory() + "fuelwarden-growth-\(UInt32.random(in: 0...UInt32.max)).log"
        let daemon = DaemonProcess(executable: executable, databaseURL: fixture.url, port: try ThrowawayCluster.freePort(), logPath: log,
                                   // A long request deadline for the warm-up pushes only (see below); the timed steps never come near it.
                                   // Detection and the background chain verification off: their reads are timed on their own
                                   // (and the grown rows' hashes are made by formula: a verification would only find them broken).
                                   environment: ["FUELWARDEN_DETECT_ENABLED": "false", "FUELWARDEN_CHECKPOINT_VERIFY_EVERY_MINUTES": "0",
                                                 "FUELWARDEN_DATABASE_REQUEST_DEADLINE_SECONDS": "120"])
        try daemon.start()
        defer { daemon.stop() }
        print("• fuelwarden serve (pid \(daemon.pid ?? 0)) on 127.0.0.1:\(daemon.port), detection off; its log: \(log)")
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        do {
            let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
            try await daemon.waitUntilReady(client: client)
            var load = LoadBenchmark(executable: executable, logger: logger, print: print)
            load.stations = stations
            load.seconds = seconds
            let all = fixture.registry.stations.map(\.id)
            let ids = Array(all.prefix(stations)), live = Array(all.dropFirst(stations))
            let generator = LoadLines(stations: live)
            let connections = try await LoadConnections.open(host: "127.0.0.1", port: daemon.port, count: 128)
            defer { Task { await connections.close() } }
            try monthsFrom2024(fixture)
            var out: [Row] = []
            for size in sizes {
                let began = ContinuousClock.now
                let now = try await count(fixture)
                if size > now {
                    print("• growing the ledger from \(now.formatted()) to \(size.formatted()) rows …")
                    try await grow(fixture, by: size - now, stations: ids)
                }
                let grew = (ContinuousClock.now - began) / .seconds(1)
                // Once per station and month, an append does more (the station's records tree and where its chain
                // enters the month): one push per station first, so the timed pushes are the steady state.
                let warming = ContinuousClock.now
                for _ in live {
                    let (station, lines) = generator.next(1)
                    _ = try await client.push(station: station, key: fixture.keys[station]!, lines: lines)
                }
                print(String(format: "  %@ rows (%.0f s; first pushes %.0f s); pushing %.0f records/s for %.0f s to the other %d stations …", size.formatted(),
                             grew, (ContinuousClock.now - warming) / .seconds(1), rate, seconds, live.count))
                var steps: [LoadBenchmark.Step] = []
                for _ in 0..<max(1, pushSteps) {
                    // What PostgreSQL's checkpointer wrote meanwhile: a checkpoint's fsyncs stall the commits they meet.
                    let before = try writerStatistics(fixture)
                    let step = try await fixture.withDatabase(logger: logger) { [load] db in
                        try await load.step(rate: rate, connections: connections, keys: fixture.keys, generator: generator, pid: daemon.pid ?? 0, sampling: db)
                    }
                    let after = try writerStatistics(fixture)
                    print(LoadBenchmark.describe(step) + String(format: "; checkpoints meanwhile %d, buffers they wrote %d", after.checkpoints - before.checkpoints,
                                                                after.buffers - before.buffers))
                    print(LoadBenchmark.describeServer(step))
                    steps.append(step)
                }
                let step = steps.sorted { $0.p99 < $1.p99 }[steps.count / 2]
                if steps.count > 1 {
                    print(String(format: "  push p99 of the %d steps: %@ ms (median %.1f ms)", steps.count,
                                 steps.map { String(format: "%.1f", $0.p99 * 1000) }.joined(separator: ", "), step.p99 * 1000))
                }
                let sample = stride(from: 0, to: ids.count, by: max(1, ids.count / samples)).prefix(samples).map { ids[$0] }
                let (exportMs, exported) = try await exportDay(client: client, admin: fixture.adminToken, stations: sample)
                let (exportAgainMs, _) = try await exportDay(client: client, admin: fixture.adminToken, stations: sample)
                let readMs = try await detectorRead(fixture, stations: sample)
                // The old resend as it costs before the months are summarised (every older month read),
                // then as the daemon's partition service leaves it (only the months whose ranges hold the seq).
                // The growth wrote into months a summary may already cover, so they are summarised afresh.
                try fixture.cluster.psql(database: fixture.databaseName,
                                         "DELETE FROM ledger_source_ranges; UPDATE ledger_periods SET sources_summarised_at = NULL")
                let everyMonthMs = try await resendLookup(fixture, stations: sample, old: true)
                let summarising = ContinuousClock.now
                let summarised = try await fixture.withDatabase(logger: logger) { db in try await LedgerPeriods(database: db).summariseClosed() }
                let summariseSeconds = (ContinuousClock.now - summarising) / .seconds(1)
                let lookupMs = try await resendLookup(fixture, stations: sample, old: true)
                print(String(format: "  %d closed months summarised in %.1f s; resend lookup of old records: %.2f ms reading every older month, %.2f ms reading the summarised ranges' months",
                             summarised.count, summariseSeconds, everyMonthMs, lookupMs))
                let liveSample = stride(from: 0, to: live.count, by: max(1, live.count / samples)).prefix(samples).map { live[$0] }
                let recentMs = try await resendLookup(fixture, stations: liveSample, old: false)
                var row = Row(rows: size, growSeconds: grew, ingest: step, exportMs: exportMs, exportAgainMs: exportAgainMs, exportRecords: exported, detectorReadMs: readMs,
                              resendLookupMs: lookupMs, resendLookupEveryMonthMs: everyMonthMs, recentResendLookupMs: recentMs,
                              summarisedMonths: summarised.count, summariseSeconds: summariseSeconds)
                print(String(format: "  history export of one station-day (%d records): median %.1f ms (again: %.1f ms); detector read of 1,000 records: median %.2f ms; resend lookup of old records (10 a station): median %.2f ms, of the newest pushed (10 a station): %.2f ms",
                             exported, exportMs, exportAgainMs, readMs, lookupMs, recentMs))
                if explain, let station = sample.first { try await explainReads(fixture, station: station) }
                // The closed months rewritten in chain order, as the partition service does once a month
                // is summarised (afresh at each size: the growth wrote into them), then the export again.
                try fixture.cluster.psql(database: fixture.databaseName, "UPDATE ledger_periods SET compacted_at = NULL")
                let compacting = ContinuousClock.now
                let compacted = try await fixture.withDatabase(logger: logger) { db in try await LedgerPeriods(database: db).compactClosed() }
                row.compactSeconds = (ContinuousClock.now - compacting) / .seconds(1)
                (row.exportCompactedMs, _) = try await exportDay(client: client, admin: fixture.adminToken, stations: sample)
                print(String(format: "  %d closed months rewritten in chain order in %.1f s; history export of one station-day after: median %.1f ms",
                             compacted.count, row.compactSeconds, row.exportCompactedMs))
                if explain, let station = sample.first { try await explainReads(fixture, station: station) }
                out.append(row)
            }
            print(Self.table(out))
            try await http.shutdown()
            return out
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    package static func table(_ rows: [Row]) -> String {
        var lines = ["", "| ledger rows | records/s held | push p99 | export of a station-day (again; after the rewrite) | detector read (1,000) | resend lookup, old: summarised (every month) | resend lookup, recent | months summarised (s) | rewritten in (s) |",
                     "|---|---|---|---|---|---|---|---|---|"]
        for r in rows {
            lines.append(String(format: "| %@ | %.0f | %.1f ms | %.1f ms (%.1f ms; %.1f ms) | %.2f ms | %.2f ms (%.2f ms) | %.2f ms | %d (%.1f s) | %.1f s |", r.rows.formatted(),
                                Double(r.ingest.records) / r.ingest.seconds, r.ingest.p99 * 1000, r.exportMs, r.exportAgainMs, r.exportCompactedMs, r.detectorReadMs,
                                r.resendLookupMs, r.resendLookupEveryMonthMs, r.recentResendLookupMs, r.summarisedMonths, r.summariseSeconds, r.compactSeconds))
        }
        if let first = rows.first, let last = rows.last, rows.count > 1 {
            func ratio(_ a: Double, _ b: Double) -> String { a > 0 ? String(format: "%.2f", b / a) : "-" }
            lines.append("last / first: push p99 \(ratio(first.ingest.p99, last.ingest.p99)), export \(ratio(first.exportMs, last.exportMs)) (again \(ratio(first.exportAgainMs, last.exportAgainMs))), detector read \(ratio(first.detectorReadMs, last.detectorReadMs)), resend lookup \(ratio(first.resendLookupMs, last.resendLookupMs)) (every month \(ratio(first.resendLookupEveryMonthMs, last.resendLookupEveryMonthMs)); recent \(ratio(first.recentResendLookupMs, last.recentResendLookupMs))) (goal: within 1.20)")
        }
        return lines.joined(separator: "\n")
    }

    /// Checkpoints so far (timed and requested) and the buffers they wrote (`pg_stat_bgwriter`).
    func writerStatistics(_ fixture: ProvinceFixture) throws -> (checkpoints: Int, buffers: Int) {
        let text = try fixture.cluster.psql(database: fixture.databaseName,
                                            "SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint FROM pg_stat_bgwriter")
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2 else { throw LabError("pg_stat_bgwriter answered \(text)") }
        return (parts[0], parts[1])
    }

    func count(_ fixture: ProvinceFixture) async throws -> Int {
        let text = try fixture.cluster.psql(database: fixture.databaseName, "SELECT count(*) FROM ledger")
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Adds `rows` rows, spread evenly over the stations, in statements of about two million rows
    /// (each station's chain continued from its head, its head moved to the last row), and records
    /// where each chain enters each month as the append does (`ledger_station_periods`, from the
    /// months' first positions and data times gathered in `growth_spans` as the rows are made).
    func grow(_ fixture: ProvinceFixture, by rows: Int, stations: [String]) async throws {
        let perStation = max(1, rows / stations.count)
        let chunk = max(1, 2_000_000 / stations.count)
        // Demo station ids (letters, digits, dashes): quoted for the SQL text all the same.
        let grown = "ARRAY[" + stations.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ",") + "]::text[]"
        var done = 0
        let began = ContinuousClock.now
        while done < perStation {
            let n = min(chunk, perStation - done)
            try fixture.cluster.psql(database: fixture.databaseName, """
                WITH h AS (SELECT station, head_seq FROM chain_heads WHERE station = ANY(\(grown))),
                ins AS (
                    INSERT INTO ledger (station, chain_seq, source, source_seq, kind, at, body, content_hash, prev_hash, hash, received_at)
                    SELECT h.station, h.head_seq + g, 'atg', h.head_seq + g, 'tank_reading', r.at,
                           '{"kind":"tank_reading","tank":"T1","height_mm":' || (1000 + (h.head_seq + g) % 900) || '.4,"volume_l":'
                               || (12000 + (h.head_seq + g) % 7000) || '.5,"water_mm":0,"temperature_c":18.2,"at":"'
                               || to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"}',
                           sha256(convert_to(h.station || ':' || (h.head_seq + g), 'UTF8')),
                           sha256(convert_to(h.station || '#' || (h.head_seq + g - 1), 'UTF8')),
                           sha256(convert_to(h.station || '#' || (h.head_seq + g), 'UTF8')),
                           r.at
                    FROM h, generate_series(1, \(n)) g,
                         LATERAL (SELECT timestamptz '2024-01-01 00:00:00+00' + (h.head_seq + g) * interval '5 minutes' AS at) r
                    RETURNING station, chain_seq, at, received_at),
                spans AS (
                    INSERT INTO growth_spans AS s (station, starts_at, first_seq, min_at, max_at)
                    SELECT station, date_trunc('month', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', min(chain_seq), min(at), max(at)
                    FROM ins GROUP BY 1, 2
                    ON CONFLICT (station, starts_at) DO UPDATE SET first_seq = least(s.first_seq, EXCLUDED.first_seq),
                        min_at = least(s.min_at, EXCLUDED.min_at), max_at = greatest(s.max_at, EXCLUDED.max_at)
                    RETURNING 1)
                SELECT count(*) FROM ins
                """)
            try fixture.cluster.psql(database: fixture.databaseName, """
                UPDATE chain_heads SET head_seq = head_seq + \(n), head_hash = sha256(convert_to(station || '#' || (head_seq + \(n)), 'UTF8')),
                    last_received_at = timestamptz '2024-01-01 00:00:00+00' + (head_seq + \(n)) * interval '5 minutes'
                WHERE station = ANY(\(grown))
                """)
            done += n
            let seconds = (ContinuousClock.now - began) / .seconds(1)
            print(String(format: "  … %@ rows added (%.0f rows/s)", (done * stations.count).formatted(), Double(done * stations.count) / max(seconds, 0.001)))
        }
        // Each month's row: its first position, and the data times of the month before it (the span the row closes).
        try fixture.cluster.psql(database: fixture.databaseName, """
            INSERT INTO ledger_station_periods (station, starts_at, first_seq, span_min_at, span_max_at)
            SELECT station, starts_at, first_seq, lag(min_at) OVER w, lag(max_at) OVER w
            FROM growth_spans WINDOW w AS (PARTITION BY station ORDER BY starts_at)
            ON CONFLICT (station, starts_at) DO UPDATE SET first_seq = EXCLUDED.first_seq, span_min_at = EXCLUDED.span_min_at,
                span_max_at = EXCLUDED.span_max_at
            """)
        try fixture.cluster.psql(database: fixture.databaseName, "VACUUM (ANALYZE) ledger")
        // The growth wrote gigabytes of WAL and the vacuum dirtied every new page: without a checkpoint
        // now, the one they call for runs during the timed pushes and its fsyncs stall their commits
        // (push p99 over a second at 10 M), a cost of the bulk growth and not of the ledger's size.
        try fixture.cluster.psql(database: fixture.databaseName, "CHECKPOINT")
    }

    /// Monthly partitions from 2024-01 (where the grown rows begin) up to the migration's, instead
    /// of the empty partition for "everything before partitioning" a new database starts with.
    func monthsFrom2024(_ fixture: ProvinceFixture) throws {
        try fixture.cluster.psql(database: fixture.databaseName, """
            SET TimeZone = 'UTC';
            DO $$
            DECLARE
                legacy text;
                cut timestamptz;
                m timestamptz := timestamptz '2024-01-01 00:00:00+00';
            BEGIN
                SELECT name, ends_at INTO legacy, cut FROM ledger_periods WHERE starts_at = '-infinity';
                EXECUTE format('ALTER TABLE ledger DETACH PARTITION %I', legacy);
                EXECUTE format('DROP TABLE %I', legacy);
                DELETE FROM ledger_periods WHERE name = legacy;
                WHILE m < cut LOOP
                    PERFORM fuelwarden_ledger_partition(m, m + interval '1 month');
                    m := m + interval '1 month';
                END LOOP;
            END
            $$;
            """)
        try fixture.cluster.psql(database: fixture.databaseName, """
            CREATE TABLE growth_spans (station text, starts_at timestamptz, first_seq bigint, min_at timestamptz, max_at timestamptz,
                                       PRIMARY KEY (station, starts_at))
            """)
        let months = try fixture.cluster.psql(database: fixture.databaseName, "SELECT count(*) FROM ledger_periods")
        print("• the ledger partitioned by month from 2024-01: \(months.trimmingCharacters(in: .whitespacesAndNewlines)) partitions")
    }

    /// One day of each station's records, from the middle of its history, through the history API.
    func exportDay(client: FuelwardenClient, admin: String, stations: [String]) async throws -> (Double, Int) {
        var times: [Double] = [], records = 0
        for s in stations {
            let path = "/v1/stations/\(s)/history?from=\(Timestamp(Self.exportedDay.from).rfc3339)&to=\(Timestamp(Self.exportedDay.to).rfc3339)"
            let began = ContinuousClock.now
            let (status, body) = try await client.send(.GET, path, token: admin, timeoutSeconds: 120)
            guard status == 200 else { throw LabError("history export of \(s) answered \(status): \(body.prefix(200))") }
            times.append((ContinuousClock.now - began) / .milliseconds(1))
            records = body.split(separator: "\n").count - 1
        }
        return (times.quantile(0.5) ?? .nan, records)
    }

    /// The append's dedupe lookup (`LedgerStore.recorded`, in its two steps: the months since the
    /// start of the previous one, then the months before for what was not found) for ten records of
    /// each sampled station: from the middle of a grown station's history (`old`: found in the second
    /// step, which looks into every older month), or a live station's newest pushed ones (found in the
    /// first). Run five times on one connection (as the daemon's pooled ones are warm); the median of the last three.
    func resendLookup(_ fixture: ProvinceFixture, stations: [String], old: Bool) async throws -> Double {
        try await fixture.withDatabase(logger: logger) { db in
            try await db.connection("resend lookup") { conn in
                var keys: [(String, String, Int64)] = []
                for s in stations {
                    let head = try await conn.query("SELECT head_seq FROM chain_heads WHERE station = \(s)", logger: db.logger)
                        .collect().first?.decode(Int64.self) ?? 0
                    // Ten grown readings from the middle of the chain, or the ten newest pushed records.
                    let query: PostgresQuery = old
                        ? "SELECT source, source_seq FROM ledger WHERE station = \(s) AND source = 'atg' AND chain_seq >= \(head / 2) ORDER BY chain_seq LIMIT 10"
                        : "SELECT source, source_seq FROM ledger WHERE station = \(s) AND source = 'push' AND chain_seq > \(head - 10) ORDER BY chain_seq"
                    for try await (source, seq) in try await conn.query(query, logger: db.logger).decode((String, Int64).self) { keys.append((s, source, seq)) }
                }
                guard !keys.isEmpty else { throw LabError("no records to look up") }
                var times: [Double] = []
                for _ in 0..<5 {
                    let began = ContinuousClock.now
                    let found = try await LedgerStore.recorded(stations: keys.map(\.0), sources: keys.map(\.1), seqs: keys.map(\.2), on: conn, logger: db.logger)
                        .values.reduce(0) { $0 + $1.count }
                    times.append((ContinuousClock.now - began) / .milliseconds(1))
                    guard found == keys.count else { throw LabError("the resend lookup found \(found) of \(keys.count) records") }
                }
                return times.suffix(3).quantile(0.5) ?? .nan
            }
        }
    }

    /// The day's export (its window and its one chunk) and the detector read of one station, each under
    /// EXPLAIN ANALYZE: where their time goes at this size.
    func explainReads(_ fixture: ProvinceFixture, station: String) async throws {
        try await fixture.withDatabase(logger: logger) { db in
            try await db.connection("explain") { conn in
                let head = try await conn.query("SELECT head_seq FROM chain_heads WHERE station = \(station)", logger: db.logger)
                    .collect().first?.decode(Int64.self) ?? 0
                let from = Self.exportedDay.from, to = Self.exportedDay.to
                let spans = try await ReceivedSpan.window(station: station, from: from, to: to, on: conn, logger: db.logger)
                let window = HistoryStore.windowQuery(station: station, from: from, to: to, through: head, within: spans)
                print("  explain \(station) export window: \(try await QueryPlanSummary.explain(window, on: conn, logger: db.logger))")
                let (lo, hi) = try await conn.query(window, logger: db.logger).collect().first?.decode((Int64?, Int64?).self) ?? (nil, nil)
                if let lo, let hi {
                    let span = try await ReceivedSpan.of(station: station, seqs: lo...hi, on: conn, logger: db.logger)
                    let chunk = HistoryStore.chunkQuery(station: station, seqs: lo...hi, from: from, to: to, layout: .ndjson, within: span)
                    print("  explain \(station) export chunk: \(try await QueryPlanSummary.explain(chunk, on: conn, logger: db.logger))")
                }
                let span = try await ReceivedSpan.after(station: station, seq: head - 1000, on: conn, logger: db.logger)
                let read = LedgerStore.entriesQuery(station: station, after: head - 1000, limit: 1000, within: span)
                print("  explain \(station) detector read: \(try await QueryPlanSummary.explain(read, on: conn, logger: db.logger))")
            }
        }
    }

    /// The station-day every export asks for: the grown readings run from 2024-01-01 every 5
    /// minutes, so the second day is in every chain.
    static let exportedDay = (from: Date(timeIntervalSince1970: 1_704_153_600), to: Date(timeIntervalSince1970: 1_704_240_000))

    /// Detection's read past its frontier: a station's newest 1,000 records by chain position.
    func detectorRead(_ fixture: ProvinceFixture, stations: [String]) async throws -> Double {
        try await fixture.withDatabase(logger: logger) { db in
            try await db.connection("detector read") { conn in
                var times: [Double] = []
                for s in stations {
                    let head = try await conn.query("SELECT head_seq FROM chain_heads WHERE station = \(s)", logger: db.logger)
                        .collect().first?.decode(Int64.self) ?? 0
                    let began = ContinuousClock.now
                    var n = 0
                    // As `LedgerStore.entries` reads: the months first, then the records.
                    let span = try await ReceivedSpan.after(station: s, seq: head - 1000, on: conn, logger: db.logger)
                    for try await _ in try await conn.query(LedgerStore.entriesQuery(station: s, after: head - 1000, limit: 1000, within: span),
                                                            logger: db.logger) {
                        n += 1
                    }
                    times.append((ContinuousClock.now - began) / .milliseconds(1))
                    guard n > 0 else { throw LabError("no records read for \(s)") }
                }
                return times.quantile(0.5) ?? .nan
            }
        }
    }
}
