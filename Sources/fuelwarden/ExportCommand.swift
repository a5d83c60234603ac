import ArgumentParser
import FuelModel
import FuelService
import FuelStore
import Foundation

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
            let sink = ExportSink(handle: handle, header: fmt.header)
            try await store.stream(station: station, from: fromTime?.date, to: toTime?.date, through: head.seq) { row in sink.write(fmt.line(row)) }
            sink.write(fmt.trailer(headSeq: head.seq, headHash: head.hash, records: sink.lines), counted: false)
            sink.flush()
            return (sink.lines, head)
        }
        FileHandle.standardError.write(Data("exported \(records) records of \(station) up to chain head \(head.seq) \(head.hash.hexString)\n".utf8))
    }
}

/// Buffered writes to a file handle (64 KiB at a time), from the one task that streams.
final class ExportSink: @unchecked Sendable {
    let handle: FileHandle
    private var buffer = Data()
    private(set) var lines = 0

    init(handle: FileHandle, header: String) {
        self.handle = handle
        buffer.append(Data(header.utf8))
    }

    func write(_ line: String, counted: Bool = true) {
        buffer.append(Data(line.utf8))
        if counted { lines += 1 }
        if buffer.count >= 64 * 1024 { flush() }
    }

    func flush() {
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
