import AsyncAlgorithms
import FuelLedger
import FuelModel
import FuelStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /v1/stations/{station}/history?from&to&format=ndjson|csv` (inspectors and admins): a
/// station's records in chain order, streamed with backpressure (constant memory), up to the chain
/// head read when the request came — named in the `Fuelwarden-Chain-Head` header (`SEQ HASH`) and,
/// for NDJSON, in a last line — so the receiver can check what it got. A body that ends without
/// that last line was cut short. When the station's first months are archived, the export begins
/// after them and says where (`Fuelwarden-Archived-Through: SEQ HASH`, `archived_through` in the
/// last line): the first record links to that hash, the records before it are in the archive.
public struct HistoryController: Sendable {
    let store: HistoryStore
    let cache: (any HistoryChunkCache)?

    public init(store: HistoryStore, cache: (any HistoryChunkCache)? = nil) {
        self.store = store
        self.cache = cache
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("stations/{station}/history", use: history)
    }

    @Sendable func history(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.inspector)
        let station = try context.parameters.require("station")
        let q = request.uri.queryParameters
        let format = try HistoryFormat(String(q.get("format") ?? "ndjson"))
        let from = try q.get("from").map { try Self.time(String($0), "from") }
        let to = try q.get("to").map { try Self.time(String($0), "to") }
        return try await export(station: station, from: from, to: to, format: format)
    }

    /// The station's records from `from` to `to` (all when nil) in `format`, streamed up to the chain
    /// head read now (the API's answer and the console's download).
    public func export(station: String, from: Timestamp?, to: Timestamp?, format: HistoryFormat) async throws -> Response {
        // One server for the whole export (a standby within database.max_read_lag_seconds, else the primary).
        let store = HistoryStore(database: self.store.database.forReading())
        guard let head = try await store.head(station: station) else { throw APIError(.notFound, "station \(station) has no chain") }
        let suite = try await store.database.ledgerSuite()
        let archived = try await store.archivedThrough(station: station)
        let cache = self.cache
        let body = ResponseBody { writer in
            let chunks = AsyncThrowingChannel<ByteBuffer, any Error>()
            let producer = Task {
                do {
                    if !format.header.isEmpty { await chunks.send(ByteBuffer(string: format.header)) }
                    let records = try await store.stream(station: station, after: archived?.seq ?? 0, from: from?.date, to: to?.date, through: head.seq,
                                                         layout: format.layout, cache: cache) {
                        await chunks.send($0)
                    }
                    let trailer = format.trailer(headSeq: head.seq, headHash: head.hash, records: records, suite: suite, archivedThrough: archived)
                    if !trailer.isEmpty { await chunks.send(ByteBuffer(string: trailer)) }
                    chunks.finish()
                } catch {
                    chunks.fail(error)
                }
            }
            defer { producer.cancel() }
            for try await chunk in chunks { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
        var headers: HTTPFields = [.contentType: format.contentType]
        headers[HTTPField.Name("Fuelwarden-Chain-Head")!] = "\(head.seq) \(head.hash.hexString)"
        headers[HTTPField.Name("Fuelwarden-Ledger-Suite")!] = suite.rawValue
        if let archived { headers[HTTPField.Name("Fuelwarden-Archived-Through")!] = "\(archived.seq) \(archived.hash.hexString)" }
        ReadSourceHeaders.set(store.database, on: &headers)
        return Response(status: .ok, headers: headers, body: body)
    }

    static func time(_ text: String, _ name: String) throws -> Timestamp {
        guard let t = Timestamp(rfc3339: text) else { throw APIError(.badRequest, "\(name): expected an RFC 3339 time, got \(text)") }
        return t
    }
}

/// How history is written: NDJSON (one record per line, the chain head last) or CSV.
public enum HistoryFormat: String, Sendable {
    case ndjson, csv

    init(_ text: String) throws {
        guard let f = HistoryFormat(rawValue: text) else { throw APIError(.badRequest, "format: expected ndjson or csv, got \(text)") }
        self = f
    }

    var contentType: String { self == .ndjson ? "application/x-ndjson" : "text/csv; charset=utf-8" }

    public var header: String { self == .ndjson ? "" : "chain_seq,source,source_seq,kind,at,hash,record\r\n" }

    /// Lines as the store writes them (the record's canonical body byte for byte).
    public var layout: HistoryLayout { self == .ndjson ? .ndjson : .csv }

    /// The last line (NDJSON only; CSV has the head in the header only).
    /// The chain head names the suite its hash is of (`international`: SHA-256, `guomi`: SM3); a
    /// station whose first months are archived adds where the export begins.
    public func trailer(headSeq: Int64, headHash: Digest32, records: Int, suite: LedgerSuite = .international,
                        archivedThrough: ChainAudit.Anchor? = nil) -> String {
        guard self == .ndjson else { return "" }
        let archived = archivedThrough.map { ",\"archived_through\":{\"seq\":\($0.seq),\"hash\":\"\($0.hash.hexString)\"}" } ?? ""
        return "{\"chain_head\":{\"seq\":\(headSeq),\"hash\":\"\(headHash.hexString)\",\"suite\":\"\(suite.rawValue)\"},\"records\":\(records)\(archived)}\n"
    }
}
