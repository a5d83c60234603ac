import FuelDetect
import FuelModel
import Prometheus
import FuelStore
import FuelWire
import Hummingbird
import Logging
import NIOCore

/// `POST /v1/stations/{station}/records`: the push contract of the design brief.
///
/// One station per request, one JSON record per line. Each line is decoded and validated against
/// the registry; good lines are appended to the station's chain, bad lines are quarantined with the
/// reason, and the answer (200, a verdict per line) is sent only after the commit. Pushes that
/// arrive together share that transaction (``AppendCoalescer``), each with its own verdict. A
/// request that could not be committed answers 503 with Retry-After and commits nothing.
public struct IngestController: Sendable {
    let appends: AppendCoalescer
    let registry: RegistryCache
    let metrics: FuelMetrics
    let detection: DetectionSignal
    let settings: IngestSettings

    public init(appends: AppendCoalescer, registry: RegistryCache, metrics: FuelMetrics, detection: DetectionSignal, settings: IngestSettings) {
        self.appends = appends
        self.registry = registry
        self.metrics = metrics
        self.detection = detection
        self.settings = settings
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.post("stations/{station}/records", use: push)
    }

    @Sendable func push(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let station = try context.parameters.require("station")
        let principal = try context.requirePrincipal()
        guard principal.role == .station else { throw APIError(.forbidden, "only a station key may push records") }
        guard principal.station == station else {
            throw APIError(.forbidden, "this key belongs to station \(principal.station ?? "?"), not \(station)")
        }
        let body = try await collectBody(request, station: station, context: context)
        let profile = appends.profile
        profile?.add(.httpBody, ContinuousClock.now - started)
        guard let entry = try await registry.profileReloadingIfUnknown(station) else {
            throw APIError(.notFound, "station \(station) is not in the registry")
        }

        let (records, rejected) = try decode(body, station: entry.station)
        let outcome = try await appends.append(station: station, records: records, rejected: rejected)
        let committed = ContinuousClock.now

        for (kind, n) in outcome.appendedByKind { metrics.count(kind: kind.rawValue, verdict: "accepted", n) }
        for (kind, n) in outcome.duplicatesByKind { metrics.count(kind: kind.rawValue, verdict: "duplicate", n) }
        for (kind, n) in Dictionary(grouping: outcome.rejected, by: { Self.kindLabel(ofRaw: $0.raw) }).mapValues(\.count) {
            metrics.count(kind: kind, verdict: "rejected", n)
        }
        if outcome.accepted > 0 || outcome.conflicts > 0 { detection.notify(station) }
        if !outcome.rejected.isEmpty {
            context.logger.info("push lines rejected", metadata: [
                "station": "\(station)", "rejected": "\(outcome.rejected.count)", "first": "\(outcome.rejected[0].reason)",
            ])
        }

        let verdict = PushVerdict(
            accepted: outcome.accepted, duplicates: outcome.duplicates,
            rejected: outcome.rejected.map { PushVerdict.Rejection(line: $0.line, seq: $0.seq, error: $0.reason) })
        let response = Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: verdict.jsonText)))
        let answered = ContinuousClock.now
        metrics.ingestHistogram.record(answered - started)
        if let profile {
            profile.add(.answer, answered - committed)
            profile.countPush(records: records.count + rejected.count)
        }
        return response
    }

    /// The request body, whole, within the size limit and the body timeout. An oversized body is
    /// refused with 413 and its first 4 KiB kept in quarantine with the reason; a body that does not
    /// arrive in time gets 408.
    func collectBody(_ request: Request, station: String, context: FuelRequestContext) async throws -> ByteBuffer {
        let limit = settings.maxBodyBytes, bodyTimeout = settings.bodyTimeout
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        let timeout = APIError(.requestTimeout, "the body did not arrive within \(bodyTimeout.secondsText)")
        // Structured on purpose: the group returns only once the reading child has stopped, so nothing
        // else iterates the connection's inbound stream while it still does (NIO allows one iterator;
        // a reader left running after a 408 crashed the daemon when the server read on).
        let (body, size) = try await withThrowingTaskGroup(of: (ByteBuffer, Int?)?.self) { group in
            group.addTask {
                var collected = ByteBuffer()
                var total = 0
                for try await chunk in request.body {
                    total += chunk.readableBytes
                    if total > limit || (declared ?? 0) > limit {
                        if collected.readableBytes < 4096 { collected.writeImmutableBuffer(chunk.getSlice(at: chunk.readerIndex, length: min(chunk.readableBytes, 4096 - collected.readableBytes))!) }
                        return (collected, max(total, declared ?? 0))
                    }
                    collected.writeImmutableBuffer(chunk)
                }
                return (collected, nil)
            }
            group.addTask {
                try await Task.sleep(for: bodyTimeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let first else { throw timeout }
            return first
        }
        guard let size else { return body }
        let message = "body of \(declared.map { "\($0) bytes" } ?? "over \(limit) bytes") is over the limit of \(limit) bytes; split the push"
        do {
            try await QuarantineStore.record(appends.ledger.database, station: station, source: .push, [RejectedInput(
                line: 0, raw: PrintableBytes.text(body.readableBytesView, limit: 4096) + " … (\(size)+ bytes, first 4 KiB kept)", seq: nil,
                reason: message)])
        } catch {
            context.logger.warning("could not quarantine an oversized push", metadata: ["station": "\(station)", "error": "\(describeDatabaseError(error))"])
        }
        metrics.count(kind: "unknown", verdict: "rejected", 1)
        throw APIError(.contentTooLarge, message)
    }

    /// The `kind` of a rejected line for metrics: the declared kind when it is a known one, else `unknown`.
    static func kindLabel(ofRaw raw: String) -> String {
        for kind in RecordKind.allCases where raw.contains("\"kind\":\"\(kind.rawValue)\"") { return kind.rawValue }
        return "unknown"
    }

    /// Splits the body into lines and decodes and validates each.
    func decode(_ body: ByteBuffer, station: Station) throws -> ([IncomingRecord], [RejectedInput]) {
        let profile = appends.profile
        var records: [IncomingRecord] = []
        var rejected: [RejectedInput] = []
        let bytes = body.readableBytesView
        var lineNo = 0
        var start = bytes.startIndex
        var nonEmpty = 0
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            var line = bytes[start..<end]
            start = end < bytes.endIndex ? bytes.index(after: end) : end
            lineNo += 1
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            // Blank: spaces, tabs and carriage returns only (as the OpenAPI document says).
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            nonEmpty += 1
            guard nonEmpty <= settings.maxLines else {
                throw APIError(.contentTooLarge, "more than \(settings.maxLines) records in one push; split the push")
            }
            do throws(PushLineError) {
                let decoded = try profile.time(.parse) { () throws(PushLineError) in try PushRecordCodec.decode(line) }
                do {
                    try profile.time(.validate) { () throws(FieldError) in try RecordValidator.validate(decoded.record, station: station) }
                } catch {
                    throw PushLineError(seq: decoded.seq, error: error)
                }
                records.append(IncomingRecord(line: lineNo, rawBytes: ByteBuffer(line), source: .push, sourceSeq: decoded.seq, record: decoded.record))
            } catch {
                rejected.append(RejectedInput(line: lineNo, raw: String(decoding: line, as: UTF8.self), seq: error.seq, reason: error.description))
            }
        }
        guard nonEmpty > 0 else { throw APIError(.badRequest, "empty body: send one JSON record per line") }
        return (records, rejected)
    }
}
