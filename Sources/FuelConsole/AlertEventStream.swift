import FuelModel
import FuelStore
import HTTPTypes
import Hummingbird
import NIOCore

/// New alerts as Server-Sent Events (`text/event-stream`), for `GET /v1/alerts/stream` and the
/// console's live board. Each event is `id: <alert id>`, `event: alert`, `data: <one JSON line>`;
/// a client that reconnects with `Last-Event-ID` gets every alert raised after that id before the
/// live ones (at most `backfillLimit`; the rest it pages from the list), one without it starts
/// from now. Live alerts come from the daemon's ``AlertBroadcaster`` as their transactions commit
/// (alerts raised by other replicas included); without one the stream polls the alerts table by id
/// every `interval`. A comment every `heartbeat` keeps proxies from closing a quiet connection. It
/// ends when the client goes away or the daemon shuts down gracefully.
public struct AlertEventStream: Sendable {
    public let alerts: AlertStore
    public var interval: Duration = .milliseconds(400)
    public var heartbeat: Duration = .seconds(15)
    public var backfillLimit = 1_000
    /// Alerts read per poll once live; a full batch is read again at once, without the pause.
    static let batch = 200
    /// The JSON of one alert, on one line.
    public let encode: @Sendable (AlertRecord) throws -> String
    /// The daemon's listener: live alerts as their transactions commit. Without one (or before it
    /// listens) the stream polls the table by id every `interval`.
    public let broadcaster: AlertBroadcaster?

    public init(alerts: AlertStore, broadcaster: AlertBroadcaster? = nil, encode: @escaping @Sendable (AlertRecord) throws -> String) {
        self.alerts = alerts
        self.broadcaster = broadcaster
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
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // Some reverse proxies buffer responses unless told not to (nginx).
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let stream = self
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            // A stream opened as the daemon starts waits a moment for the listener rather than poll.
            if let broadcaster = stream.broadcaster {
                for _ in 0..<40 where await !broadcaster.isListening { try await Task.sleep(for: .milliseconds(50)) }
                if await broadcaster.isListening {
                    try await stream.live(from: broadcaster, after: after, filter: filter, isStopping: isStopping, writer: &writer)
                    return
                }
            }
            try await stream.polling(after: after, filter: filter, isStopping: isStopping, writer: &writer)
        })
    }

    /// `alerts` admitted by the filter as events, one `id` / `event` / `data` block each.
    func events(_ alerts: some Sequence<AlertRecord>, _ filter: Filter) throws -> String {
        var text = ""
        for a in alerts where filter.admits(a) { text += "id: \(a.id)\nevent: alert\ndata: \(try encode(a))\n\n" }
        return text
    }

    /// A comment line carrying the last id, so a client's proxy timers and logs see progress.
    static func keepalive(_ last: Int64) -> ByteBuffer { ByteBuffer(string: ": keepalive \(last)\n\n") }

    /// Live: subscribed before the backfill is read, so nothing commits unseen between the two.
    private func live(from broadcaster: AlertBroadcaster, after: Int64, filter: Filter, isStopping: @Sendable () -> Bool,
                      writer: inout any ResponseBodyWriter) async throws {
        let (id, feed) = await broadcaster.subscribe()
        defer { Task { await broadcaster.unsubscribe(id) } }
        let backfill = try await alerts.raised(after: after, limit: backfillLimit)
        let sent = Set(backfill.map(\.id))
        var last = max(after, backfill.last?.id ?? after)
        let first = try events(backfill, filter)
        if !first.isEmpty { try await writer.write(ByteBuffer(string: first)) }
        var quietSince = ContinuousClock.now
        for await event in feed {
            if Task.isCancelled || isStopping() { break }
            switch event {
            case .alerts(let batch):
                let text = try events(batch.filter { !sent.contains($0.id) }, filter)
                last = max(last, batch.map(\.id).max() ?? last)
                if !text.isEmpty {
                    try await writer.write(ByteBuffer(string: text))
                    quietSince = .now
                }
            case .tick:
                if ContinuousClock.now - quietSince >= heartbeat {
                    try await writer.write(Self.keepalive(last))
                    quietSince = .now
                }
            }
        }
        try await writer.finish(nil)
    }

    /// Without a listener: the alerts table by id every `interval`.
    private func polling(after: Int64, filter: Filter, isStopping: @Sendable () -> Bool, writer: inout any ResponseBodyWriter) async throws {
        var last = after
        var quietSince = ContinuousClock.now
        var first = true
        while !Task.isCancelled, !isStopping() {
            let batch = try await alerts.raised(after: last, limit: first ? backfillLimit : Self.batch)
            first = false
            last = batch.last?.id ?? last
            let text = try events(batch, filter)
            if !text.isEmpty {
                try await writer.write(ByteBuffer(string: text))
                quietSince = .now
            } else if ContinuousClock.now - quietSince >= heartbeat {
                try await writer.write(Self.keepalive(last))
                quietSince = .now
            }
            if batch.count < Self.batch { try await Task.sleep(for: interval) }
        }
        try await writer.finish(nil)
    }
}
