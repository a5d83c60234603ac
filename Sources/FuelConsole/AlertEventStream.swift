import FuelModel
import FuelStore
import HTTPTypes
import Hummingbird
import NIOCore

/// New alerts as Server-Sent Events (`text/event-stream`), for `GET /v1/alerts/stream` and the
/// console's live board. Each event is `id: <alert id>`, `event: alert`, `data: <one JSON line>`;
/// a client that reconnects with `Last-Event-ID` gets every alert raised after that id before the
/// live ones (at most `backfillLimit`; the rest it pages from the list), one without it starts
/// from now. The stream polls the alerts table by id every `interval` (an index range scan), which
/// also sees alerts raised by other replicas, and sends a comment every `heartbeat` so proxies keep
/// the connection open. It ends when the client goes away or the daemon shuts down gracefully.
public struct AlertEventStream: Sendable {
    public let alerts: AlertStore
    public var interval: Duration = .milliseconds(400)
    public var heartbeat: Duration = .seconds(15)
    public var backfillLimit = 1_000
    /// Alerts read per poll once live; a full batch is read again at once, without the pause.
    static let batch = 200
    /// The JSON of one alert, on one line.
    public let encode: @Sendable (AlertRecord) throws -> String

    public init(alerts: AlertStore, encode: @escaping @Sendable (AlertRecord) throws -> String) {
        self.alerts = alerts
        self.encode = encode
    }

    /// Which alerts a stream sends.
    public struct Filter: Sendable {
        public var station: String?
        public var city: String?
        public var rule: AlertRule?
        public var severity: Severity?

        public init(station: String? = nil, city: String? = nil, rule: AlertRule? = nil, severity: Severity? = nil) {
            self.station = station
            self.city = city
            self.rule = rule
            self.severity = severity
        }

        func admits(_ a: AlertRecord) -> Bool {
            (station == nil || a.station == station) && (city == nil || a.city == city)
                && (rule == nil || a.rule == rule) && (severity == nil || a.severity == severity)
        }
    }

    /// The id to resume after: a valid `Last-Event-ID`, else the newest alert's.
    public func start(lastEventID: String?) async throws -> Int64 {
        if let text = lastEventID, let id = Int64(text.trimmingCharacters(in: .whitespaces)), id >= 0 { return id }
        return try await alerts.latestID()
    }

    /// The streaming response, starting after alert `after`.
    public func response(after: Int64, filter: Filter, isStopping: @escaping @Sendable () -> Bool) -> Response {
        let (alerts, interval, heartbeat, limit, encode) = (self.alerts, self.interval, self.heartbeat, backfillLimit, self.encode)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // Some reverse proxies buffer responses unless told not to (nginx).
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var last = after
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            var quietSince = ContinuousClock.now
            var first = true
            while !Task.isCancelled, !isStopping() {
                let batch = try await alerts.raised(after: last, limit: first ? limit : Self.batch)
                first = false
                var text = ""
                for a in batch {
                    last = a.id
                    guard filter.admits(a) else { continue }
                    text += "id: \(a.id)\nevent: alert\ndata: \(try encode(a))\n\n"
                }
                if !text.isEmpty {
                    try await writer.write(ByteBuffer(string: text))
                    quietSince = .now
                } else if ContinuousClock.now - quietSince >= heartbeat {
                    // A comment line carries the last id so a client's proxy timers and logs see progress.
                    try await writer.write(ByteBuffer(string: ": keepalive \(last)\n\n"))
                    quietSince = .now
                }
                if batch.count < Self.batch { try await Task.sleep(for: interval) }
            }
            try await writer.finish(nil)
        })
    }
}
