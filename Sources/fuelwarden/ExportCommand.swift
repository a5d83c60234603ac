import ArgumentParser
import FuelModel
import FuelService
import FuelStore
import Foundation
import NIOCore

/// `fuelwarden export STATION`: a station's history from the database, streamed to a file or stdout.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a station's records in chain order (NDJSON with the chain head last, or CSV), streamed; the same as GET /v1/stations/{id}/history.")
    @OptionGroup var options: CommonOptions
    @Argument(help: "Station id.") var station: String
    @Option(help: "From this data time (RFC 3339), inclusive.") var from: String?
    @Option(help: "To this data time (RFC 3339), exclusive.") var to: String?
    @Option(help: "ndjson or csv.") var format = "ndjson"
    @Option(help: "Output file (default: standard output).") var out: String?

    func run() async throws {
        guard let fmt = HistoryFormat(rawValue: format) else { fail("--format: expected ndjson or csv, got \(format)") }
        let fromTime = from.map { guard let t = Timestamp(rfc3339: $0) else { fail("--from: expected an RFC 3339 time, got \($0)") }; return t }
        let toTime = to.map { guard let t = Timestamp(rfc3339: $0) else { fail("--to: expected an RFC 3339 time, got \($0)") }; return t }
        if let out, !FileManager.default.createFile(atPath: out, contents: nil) { fail("cannot write \(out)") }
        guard let handle = out.map({ FileHandle(forWritingAtPath: $0) }) ?? FileHandle.standardOutput else { fail("cannot write \(out ?? "")") }
        let config = try await options.load()
        let logger = makeLogger(config.logLevel)
        let station = self.station
        let (records, head) = try await withDatabase(config, logger) { db in
            let store = HistoryStore(database: db)
            guard let head = try await store.head(station: station) else { fail("station \(station) has no chain") }
            handle.write(Data(fmt.header.utf8))
            // Months archived: the export begins after them (the archive's files hold the rest).
            let archived = try await store.archivedThrough(station: station)
            let records = try await store.stream(station: station, after: archived?.seq ?? 0, from: fromTime?.date, to: toTime?.date,
                                                 through: head.seq, layout: fmt.layout) {
                handle.write(Data($0.readableBytesView))
            }
            handle.write(Data(fmt.trailer(headSeq: head.seq, headHash: head.hash, records: records, suite: try await db.ledgerSuite(),
                                          archivedThrough: archived).utf8))
            return (records, head)
        }
        FileHandle.standardError.write(Data("exported \(records) records of \(station) up to chain head \(head.seq) \(head.hash.hexString)\n".utf8))
    }
}
