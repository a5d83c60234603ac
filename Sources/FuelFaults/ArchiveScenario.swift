import Foundation
import FuelClient
import FuelLab
import FuelLedger
import FuelPostgresFixture
import FuelStore
import NIOCore
import PostgresNIO

extension FaultTest {
    /// A month archived while the collectors keep pushing: the first period is closed (as the turn
    /// of a month closes it), a signed checkpoint covers it, and `fuelwarden archive` writes it to
    /// files, checks them and drops the partition under load. Nothing acknowledged may be lost or
    /// duplicated (the census counts the archive's files and the database together), pushes keep
    /// their answers, `verify --archive` checks the files with the regulator's key and joins them to
    /// the database, and a record in the archived month still gets an inclusion proof that
    /// `verify --checkpoint --proof` accepts offline.
    func archiveScenario() async throws -> Result {
        let fixture = try await ProvinceFixture.make(stations: stations, database: "fuelwarden_archive", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("archive")
        let archive = (logs as NSString).appendingPathComponent("months")
        let (signing, publicKey) = try checkpointKeys()
        let daemon = try makeDaemon(fixture, logDirectory: logs, name: "serve", environment: [
            "FUELWARDEN_CHECKPOINT_SIGNING_KEY": signing, "FUELWARDEN_CHECKPOINT_INTERVAL_SECONDS": "2",
            "FUELWARDEN_LEDGER_ARCHIVE_DIRECTORY": archive,
        ])
        defer { daemon.stop() }
        var r = Result(scenario: .archive)
        let lines = Self.syntheticLines()
        try await withHTTP { http in
            let (client, control, pushing) = try await startPushing(to: daemon, fixture, lines: lines, http: http)
            try await Task.sleep(for: .seconds(seconds / 3))
            let closed = try await ProvinceFixture.withDatabase(url: fixture.url, logger: logger) { db in try await LedgerPeriods(database: db).closeFirstNow() }
            print("  closed \(closed) as a month's end would; waiting for a checkpoint to cover it")
            try await Task.sleep(for: .seconds(4))
            // The month's census before: per station, its rows' chain seqs and content hashes.
            let held = try await ProvinceFixture.withDatabase(url: fixture.url, logger: logger) { db in
                try await db.connection("month census") { conn in
                    var out: [String: [Int64: [UInt8]]] = [:]
                    for try await (station, seq, hash) in try await conn.query(PostgresQuery(unsafeSQL: "SELECT station, chain_seq, content_hash FROM \(closed)"),
                                                                             logger: logger).decode((String, Int64, ByteBuffer).self) {
                        out[station, default: [:]][seq] = Array(buffer: hash)
                    }
                    return out
                }
            }

            let began = ContinuousClock.now
            let (archived, output) = Self.run(executable, ["archive", "--before", "2999-01", "--to", archive, "--database-url", fixture.url], environment: [:])
            let ended = ContinuousClock.now
            let took = (ended - began) / .seconds(1)
            r.check("fuelwarden archive under load", archived, String(format: "%.1f s: %@", took, output))
            try await Task.sleep(for: .seconds(seconds / 3))
            control.drain()
            print("  draining: collectors resend what is still unacknowledged")
            let done = await pushing.value

            let attempts = done.flatMap(\.attempts)
            let during = attempts.filter { $0.began >= began && $0.began < ended }
            let before = attempts.filter { $0.began < began }
            let odd = attempts.filter { $0.status != 200 && $0.status != 503 }
            r.facts.append("\(attempts.count) pushes from \(done.count) stations: \(attempts.statusSummary); \(during.count) while the month was archived")
            r.facts.append(String(format: "push p99 before the archive %.0f ms, during it %.0f ms", (before.map(\.seconds).quantile(0.99) ?? 0) * 1000,
                                  (during.map(\.seconds).quantile(0.99) ?? 0) * 1000))
            r.check("every push answered 200 (or 503 with Retry-After) while the month was archived", odd.isEmpty && !during.isEmpty,
                    odd.isEmpty ? "\(during.count) pushes during the archive: \(during.statusSummary)" : "\(odd.count) answered \(odd.statusSummary)")

            // What remains in the database, and what went to files.
            let (periods, gone) = try await ProvinceFixture.withDatabase(url: fixture.url, logger: logger) { db in
                let periods = try await LedgerPeriods(database: db).list()
                let gone = try await db.connection("partition gone") { conn in
                    try await conn.query("SELECT to_regclass(\(closed)) IS NULL", logger: logger).collect().first?.decode(Bool.self) ?? false
                }
                return (periods, gone)
            }
            r.check("the month is recorded archived and its partition dropped", gone && periods.first?.archived == true,
                    "\(closed): \(periods.first?.archived == true ? "archived" : "live"), partition \(gone ? "dropped" : "still there")")

            // The month's census after: its files hold exactly the rows the partition held.
            let files = try ArchivedRows.read(root: archive, stations: Array(held.keys))
            let heldRows = held.values.reduce(0) { $0 + $1.count }
            let differing = held.filter { station, rows in
                let f = files[station] ?? []
                return f.count != rows.count || f.contains { rows[$0.chainSeq] != $0.contentHash }
            }.map(\.key).sorted()
            r.check("the archive holds exactly what the month held", differing.isEmpty && heldRows > 0,
                    differing.isEmpty ? "\(heldRows) rows of \(held.count) stations, each in the files with its content" : "stations differing: \(differing.prefix(5))")

            print("  counting the ledger and the archive, running fuelwarden verify")
            r.census = try await ProvinceFixture.withDatabase(url: fixture.url, logger: logger) { db in
                try await LedgerCensus.take(done, lines: lines, database: db, archive: archive)
            }
            let c = r.census
            r.check("retries complete the chains across the archive", c.unacknowledged == 0 && c.rows == c.generated,
                    "\(c.generated) records made, \(c.generated - c.unacknowledged) acknowledged in the end, \(c.rows) rows in the archive and the ledger, \(c.brokenChains.count) chains with holes")
            let rejected = done.flatMap(\.unexpectedRejections)
            r.check("no valid record rejected", rejected.isEmpty, rejected.isEmpty ? "none" : "\(rejected.count), first: \(rejected[0])")
            let (verified, verifyText) = Self.run(executable, ["verify", "--archive", archive, "--public-key", publicKey, "--database-url", fixture.url],
                                                  environment: [:])
            r.check("fuelwarden verify --archive (files with the regulator's key, joined to the database)", verified, verifyText)

            // An archived record's inclusion proof, from the daemon, checked offline.
            let station = done.first { !$0.acknowledged.isEmpty }?.station ?? fixture.registry.stations[0].id
            // The daemon signs a checkpoint every few seconds here: one may land between the two
            // requests, so the pair is taken again until the proof leads to the checkpoint fetched.
            func field(_ body: String, _ key: String) -> String? {
                (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?[key] as? String
            }
            var (cs, checkpointBody, ps, proofBody) = (0, "", 0, "")
            for _ in 0..<5 {
                (cs, checkpointBody) = try await client.send(.GET, "/v1/checkpoints/latest", token: fixture.adminToken, timeoutSeconds: 10)
                (ps, proofBody) = try await client.send(.GET, "/v1/stations/\(station)/records/1/proof", token: fixture.adminToken, timeoutSeconds: 30)
                guard cs == 200, ps == 200, field(checkpointBody, "root_hash") != field(proofBody, "checkpoint_root_hash") else { break }
            }
            var proofText = "checkpoint \(cs), proof \(ps): \(String(proofBody.prefix(200)))"
            var proofOK = false
            if cs == 200, ps == 200 {
                let cp = (logs as NSString).appendingPathComponent("checkpoint.json"), pp = (logs as NSString).appendingPathComponent("proof.json")
                try checkpointBody.write(toFile: cp, atomically: true, encoding: .utf8)
                try proofBody.write(toFile: pp, atomically: true, encoding: .utf8)
                (proofOK, proofText) = Self.run(executable, ["verify", "--checkpoint", cp, "--proof", pp, "--public-key", publicKey, "--offline"], environment: [:])
            }
            r.check("an archived record's inclusion proof verifies offline", proofOK, "\(station) record 1: \(proofText)")
        }
        if !r.passed { r.facts.append("daemon logs and the archive: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }

    /// A checkpoint key pair from `fuelwarden checkpoint keygen`, as an operator makes one.
    func checkpointKeys() throws -> (signing: String, public: String) {
        let output = NSTemporaryDirectory() + "fuelwarden-keygen-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try SpawnedProcess.run([executable, "checkpoint", "keygen"], environment: [:], output: output, timeoutSeconds: 60)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        func value(_ prefix: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        guard status == 0, let signing = value("private key"), let pub = value("public key") else {
            throw StoreError.unavailable("fuelwarden checkpoint keygen failed: \(text)")
        }
        return (signing, pub)
    }
}
