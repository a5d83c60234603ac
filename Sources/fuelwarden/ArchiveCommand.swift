import ArgumentParser
import FuelModel
import FuelService
import FuelStore
import Foundation

/// `fuelwarden archive`: moves whole months of the ledger to files with their proofs and drops them.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Write whole months of the ledger to files (history NDJSON per station, the signed checkpoint covering them, a manifest), check them against the chain, then detach and drop them.",
        discussion: """
            Months go oldest first, each into DIR/<partition>/. Only months that have ended are archived, and only when a \
            signed checkpoint covers them. Afterwards `fuelwarden verify --archive DIR` checks the files offline and joins \
            them to the chains in the database; a resend of an archived record is refused, never appended twice.
            """)
    @OptionGroup var options: CommonOptions
    @Option(help: "Archive the months before this one (YYYY-MM, UTC). Default: what ledger.retention_years no longer keeps.")
    var before: String?
    @Option(help: "Directory to write to (default: ledger.archive_directory).") var to: String?
    @Flag(help: "Only say what would be archived.") var dryRun = false

    func run() async throws {
        let config = try await options.load()
        let logger = makeLogger(config.logLevel)
        let cutoff: Date
        if let before {
            guard let d = LedgerArchiver.monthStart(before) else { fail("--before: expected a month as YYYY-MM, got \(before)") }
            cutoff = d
        } else {
            guard config.ledger.retentionYears > 0 else {
                fail("ledger.retention_years is 0 (keep everything): nothing to archive unless --before names a month")
            }
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            let month = utc.date(from: utc.dateComponents([.year, .month], from: Date()))!
            cutoff = utc.date(byAdding: .year, value: -config.ledger.retentionYears, to: month)!
        }
        guard let dir = to ?? config.ledger.archiveDirectory else { fail("--to or ledger.archive_directory: where to write the archive") }
        let dryRun = self.dryRun
        let outcomes = try await withDatabase(config, logger) { db in
            do {
                return try await LedgerArchiver(database: db, logger: logger).archive(before: cutoff, to: dir, dryRun: dryRun) { line in
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
            } catch let refusal as LedgerArchiver.Refusal {
                fail(refusal.description)
            }
        }
        if outcomes.isEmpty { print("nothing to archive before \(Timestamp(cutoff).rfc3339)") }
        for o in outcomes {
            print("\(dryRun ? "would archive" : "archived") \(o.period): \(o.records) records of \(o.stations) stations\(dryRun ? "" : " in \(o.directory)")")
        }
    }
}
