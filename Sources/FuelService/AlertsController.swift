import FuelConsole
import FuelDetect
import FuelModel
import FuelStore
import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// An alert as the API returns it.
struct AlertDTO: Encodable {
    var id: Int64
    var rule: AlertRule
    var station: String
    var city: String?
    var subject: String
    var severity: Severity
    var status: AlertStatus
    var openedAt: Date
    var raisedAt: Date
    var updatedAt: Date
    var occurrences: Int
    var evidence: [String: EvidenceValue]
    var seqFrom: Int64?
    var seqTo: Int64?
    var acknowledgedAt: Date?
    var acknowledgedBy: String?
    var ackNote: String?
    var resolvedAt: Date?
    var resolvedBy: String?
    var resolutionNote: String?

    enum CodingKeys: String, CodingKey {
        case id, rule, station, city, subject, severity, status, occurrences, evidence
        case openedAt = "opened_at", raisedAt = "raised_at", updatedAt = "updated_at"
        case seqFrom = "seq_from", seqTo = "seq_to"
        case acknowledgedAt = "acknowledged_at", acknowledgedBy = "acknowledged_by", ackNote = "ack_note"
        case resolvedAt = "resolved_at", resolvedBy = "resolved_by", resolutionNote = "resolution_note"
    }

    init(_ a: AlertRecord) {
        id = a.id; rule = a.rule; station = a.station; city = a.city; subject = a.subject; severity = a.severity
        status = a.status; openedAt = a.openedAt; raisedAt = a.raisedAt; updatedAt = a.updatedAt
        occurrences = a.occurrences
        evidence = (try? JSONDecoder().decode([String: EvidenceValue].self, from: Data(a.evidenceJSON.utf8))) ?? [:]
        seqFrom = a.seqFrom; seqTo = a.seqTo; acknowledgedAt = a.acknowledgedAt; acknowledgedBy = a.acknowledgedBy
        ackNote = a.ackNote; resolvedAt = a.resolvedAt; resolvedBy = a.resolvedBy; resolutionNote = a.resolutionNote
    }
}

struct AlertListDTO: Encodable {
    var alerts: [AlertDTO]
    /// The cursor of the next page (nil: this was the last).
    var next: String?
}

extension AlertDTO {
    /// One alert as a single JSON line (for Server-Sent Events).
    static func line(_ a: AlertRecord) throws -> String {
        String(decoding: try JSONResponse.encoder.encode(AlertDTO(a)), as: UTF8.self)
    }
}

/// An alert for the console's live board: the API's fields and the station's name, so a live row
/// reads like the rows the page drew.
struct ConsoleAlertDTO: Encodable {
    var alert: AlertDTO
    var stationName: String?

    func encode(to encoder: any Encoder) throws {
        try alert.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(stationName, forKey: .stationName)
    }

    enum Key: String, CodingKey { case stationName = "station_name" }

    static func line(_ a: AlertRecord, stationName: String?) throws -> String {
        String(decoding: try JSONResponse.encoder.encode(ConsoleAlertDTO(alert: AlertDTO(a), stationName: stationName)), as: UTF8.self)
    }
}

/// `GET /v1/alerts` (newest first, keyset-paged by `cursor` / `next`), `GET /v1/alerts/stream`
/// (new alerts as Server-Sent Events, resumable with `Last-Event-ID`), `GET /v1/alerts/{id}`,
/// `POST /v1/alerts/{id}/ack`, `POST /v1/alerts/{id}/resolve`.
public struct AlertsController: Sendable {
    let alerts: AlertStore
    /// Live alerts for the stream (nil: the stream polls).
    let feed: AlertBroadcaster?

    public init(alerts: AlertStore, feed: AlertBroadcaster? = nil) {
        self.alerts = alerts
        self.feed = feed
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("alerts", use: list)
        group.get("alerts/stream", use: stream)
        group.get("alerts/{id}", use: get)
        group.post("alerts/{id}/ack") { try await transition($0, $1, .acknowledge) }
        group.post("alerts/{id}/resolve") { try await transition($0, $1, .resolve) }
    }

    @Sendable func list(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let q = request.uri.queryParameters
        // An empty filter (`rule=`) filters nothing, as if it were absent.
        func filter(_ name: String) -> String? { q.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        var f = AlertFilter()
        do {
            if let s = q.get("status") { f.status = try AlertFilter.status(s) }
            f.station = filter("station")
            f.rule = try filter("rule").map(AlertFilter.rule)
            f.city = filter("city")
            f.severity = try filter("severity").map(AlertFilter.severity)
            f.after = try filter("cursor").map(AlertFilter.cursor)
        } catch let e as AlertQueryError {
            throw APIError(.badRequest, e.description)
        }
        if let since = q.get("since") {
            guard let t = Timestamp(rfc3339: since) else { throw APIError(.badRequest, "since: \"\(since)\" is not an RFC 3339 time") }
            f.since = t.date
        }
        if let limit = q.get("limit") {
            guard let n = Int(limit), (1...5000).contains(n) else { throw APIError(.badRequest, "limit: expected 1…5000, got \"\(limit)\"") }
            f.limit = n
        }
        let reads = AlertStore(database: alerts.database.forReading())
        let page = try await reads.list(f)
        let next = page.count == f.limit ? page.last.map { AlertCursor(after: $0).description } : nil
        return try JSONResponse.make(AlertListDTO(alerts: page.map(AlertDTO.init), next: next)).readFrom(reads.database)
    }

    @Sendable func stream(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let q = request.uri.queryParameters
        func filter(_ name: String) -> String? { q.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        var f = AlertEventStream.Filter(station: filter("station"), city: filter("city"))
        do {
            f.rule = try filter("rule").map(AlertFilter.rule)
            f.severity = try filter("severity").map(AlertFilter.severity)
        } catch let e as AlertQueryError {
            throw APIError(.badRequest, e.description)
        }
        let events = AlertEventStream(alerts: alerts, broadcaster: feed, encode: AlertDTO.line)
        let after = try await events.start(lastEventID: request.headers[HTTPField.Name("Last-Event-ID")!])
        return events.response(after: after, filter: f) { Task.isShuttingDownGracefully }
    }

    @Sendable func get(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let id = try alertID(context)
        let reads = AlertStore(database: alerts.database.forReading())
        guard let a = try await reads.get(id: id) else { throw APIError(.notFound, "alert \(id) does not exist") }
        return try JSONResponse.make(AlertDTO(a)).readFrom(reads.database)
    }

    struct NoteBody: Decodable {
        var note: String
    }

    func transition(_ request: Request, _ context: FuelRequestContext, _ t: AlertTransition) async throws -> Response {
        let principal = try context.requireRegulator(.inspector)
        let id = try alertID(context)
        let note = try await RequestJSON.decode(NoteBody.self, from: request, example: #"{"note":"…"}"#).note
        try RequestJSON.requireNoNUL(note, field: "note")
        guard !RequestJSON.isBlank(note) else { throw APIError(.badRequest, "note: must not be empty") }
        guard note.unicodeScalars.count <= 2000 else { throw APIError(.badRequest, "note: at most 2000 characters") }
        let trimmed = note.trimmingCharacters(in: RequestJSON.blankCharacters)
        let updated = try await alerts.transition(id: id, t, note: trimmed, actor: principal.actor)
        return try JSONResponse.make(AlertDTO(updated))
    }

    func alertID(_ context: FuelRequestContext) throws -> Int64 {
        let text = try context.parameters.require("id")
        guard let id = Int64(text), id > 0 else { throw APIError(.badRequest, "alert id must be a positive integer, got \"\(text)\"") }
        return id
    }
}
