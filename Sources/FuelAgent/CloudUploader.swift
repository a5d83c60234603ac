import AsyncHTTPClient
import FuelAsync
import FuelModel
import FuelWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle

/// A wake-up call between the sources and the uploader: rung when records are spooled, so the
/// uploader sends within 50 ms instead of at its next poll. (A flag looked at every 50 ms rather
/// than an AsyncStream: cancelling a task that waits on an AsyncStream terminates the stream.)
public final class Doorbell: Sendable {
    private let rung = NIOLockedValueBox(false)

    public init() {}

    public func ring() { rung.withLockedValue { $0 = true } }

    /// Waits for a ring or `timeout`, whichever comes first.
    func wait(upTo timeout: Duration) async {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end, !Task.isCancelled {
            if rung.withLockedValue({ r in defer { r = false }; return r }) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Sends the spool to the cloud in seq order, in batches (`POST /v1/stations/{id}/records`),
/// and lets records go only when a 200 covers them. 503 (with its Retry-After), 408, 429, 5xx,
/// timeouts and broken connections are retried with capped exponential backoff and jitter; any
/// other 4xx stops uploading and is reported on the status page (the records stay); 413 halves
/// the batch. The cloud's `Date` header gives the clock offset, reported on the status page.
public struct CloudUploader: Service {
    let config: AgentConfigFile
    let key: String
    let spool: AgentSpool
    let client: HTTPClient
    let doorbell: Doorbell
    let logger: Logger

    public init(config: AgentConfigFile, key: String, spool: AgentSpool, client: HTTPClient, doorbell: Doorbell, logger: Logger) {
        self.config = config
        self.key = key
        self.spool = spool
        self.client = client
        self.doorbell = doorbell
        self.logger = logger
    }

    /// An HTTP client for the cloud: the system trust store or `ca_file`, and the station's client
    /// certificate when one is configured.
    public static func makeClient(_ config: AgentConfigFile) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = config.caFile { tls.trustRoots = .file(ca) }
        if let cert = config.clientCertificate, let key = config.clientKey {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        var c = HTTPClient.Configuration(tlsConfiguration: tls)
        c.timeout = .init(connect: .seconds(10), read: .seconds(Int64(config.requestTimeoutSeconds)))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
    }

    public func run() async throws {
        try await untilShutdown { try await loop() }
    }

    private func untilShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError {
        }
    }

    func loop() async throws {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(config.maxBackoffSeconds))
        var failures = 0
        var batchSize = config.batchRecords
        while !Task.isCancelled {
            do {
                if try spool.needsFirstSeq() {
                    try await fetchFirstSeq()
                    continue
                }
                let batch = try spool.batch(limit: batchSize)
                guard !batch.isEmpty else {
                    await doorbell.wait(upTo: .seconds(1))
                    continue
                }
                switch try await send(batch) {
                case .done:
                    failures = 0
                    if batchSize < config.batchRecords { batchSize = min(config.batchRecords, batchSize * 2) }
                case .retry(let after, let why):
                    failures += 1
                    try? spool.set("last_upload", "\(Timestamp(Date()).rfc3339) failed (\(failures) in a row): \(why)")
                    try await Task.sleep(for: backoff.delay(afterFailures: failures, retryAfter: after))
                case .tooLarge:
                    batchSize = max(1, batchSize / 2)
                case .blocked(let why):
                    failures += 1
                    logger.error("upload stopped by the cloud", metadata: ["why": "\(why)"])
                    try? spool.set("upload_blocked", "\(Timestamp(Date()).rfc3339) \(why)")
                    try? spool.note(kind: "upload", text: "stopped: \(why)")
                    // The records stay; ask again after the longest wait (an operator may fix the key or registry).
                    try await Task.sleep(for: .seconds(config.maxBackoffSeconds))
                }
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                logger.warning("upload failed", metadata: ["error": "\(error)", "failures": "\(failures)"])
                try? spool.set("last_upload", "\(Timestamp(Date()).rfc3339) failed (\(failures) in a row): \(error)")
                try await Task.sleep(for: backoff.delay(afterFailures: failures))
            }
        }
    }

    enum Outcome {
        case done
        case retry(after: Duration?, why: String)
        case tooLarge
        case blocked(String)
    }

    func request(_ path: String, method: HTTPMethod, body: String? = nil) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: config.cloudURL + path)
        r.method = method
        r.headers.add(name: "authorization", value: "Bearer \(key)")
        r.headers.add(name: "user-agent", value: "fuelwarden-agent")
        if let body {
            r.headers.add(name: "content-type", value: "application/x-ndjson")
            r.body = .bytes(ByteBuffer(string: body))
        }
        return r
    }

    /// A new spool numbers on from the station's highest pushed seq, as the cloud knows it.
    func fetchFirstSeq() async throws {
        let response = try await client.execute(request("/v1/stations/\(config.station)", method: .GET), timeout: .seconds(Int64(config.requestTimeoutSeconds)))
        let body = try await response.body.collect(upTo: 4 << 20)
        guard response.status == .ok else {
            throw AgentError("the cloud answered \(response.status.code) to GET /v1/stations/\(config.station): \(String(buffer: body).prefix(300))")
        }
        guard case .object(let top)? = try? JSONParser.parse(Array(buffer: body)),
              case .object(let chain)? = top.first(where: { $0.0 == "chain" })?.1,
              case .number(_, let last?)? = chain.first(where: { $0.0 == "last_push_seq" })?.1 else {
            throw AgentError("the cloud's station answer has no chain.last_push_seq")
        }
        try spool.setFirstSeq(last + 1)
        logger.notice("spool numbering starts", metadata: ["seq": "\(last + 1)"])
    }

    func send(_ batch: [(seq: Int64, line: String)]) async throws -> Outcome {
        let body = batch.map(\.line).joined(separator: "\n") + "\n"
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request("/v1/stations/\(config.station)/records", method: .POST, body: body),
                                                 timeout: .seconds(Int64(config.requestTimeoutSeconds)))
        } catch {
            return .retry(after: nil, why: "\(error)")
        }
        let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
        if let date = response.headers.first(name: "date"), let cloud = HTTPDate.parse(date) {
            // The header has whole seconds: an offset within a second or two is rounding.
            if (try? spool.noteClockOffset(cloud.timeIntervalSinceNow)) == true { doorbell.ring() }
        }
        let code = Int(response.status.code)
        switch code {
        case 200:
            guard case .object(let top)? = try? JSONParser.parse(text) else { return .retry(after: nil, why: "200 without a verdict: \(text.prefix(200))") }
            func int(_ k: String) -> Int {
                if case .number(let d, _)? = top.first(where: { $0.0 == k })?.1 { return Int(d) }
                return 0
            }
            var rejected: [(seq: Int64?, reason: String)] = []
            if case .array(let list)? = top.first(where: { $0.0 == "rejected" })?.1 {
                for case .object(let r) in list {
                    var seq: Int64?
                    if case .number(_, let s?)? = r.first(where: { $0.0 == "seq" })?.1 { seq = s }
                    var why = ""
                    if case .string(let e)? = r.first(where: { $0.0 == "error" })?.1 { why = e }
                    rejected.append((seq, why))
                }
            }
            let last = batch.last!.seq
            _ = try spool.acknowledge(through: last, accepted: int("accepted"), duplicates: int("duplicates"), rejected: rejected)
            try spool.set("last_upload", "\(Timestamp(Date()).rfc3339) ok: through seq \(last) (\(int("accepted")) accepted, \(int("duplicates")) duplicates, \(rejected.count) refused)")
            try? spool.set("upload_blocked", "")
            if try spool.hasRoomAgain() { try spool.clearFull(station: "agent-spool") }
            return .done
        case 413:
            return batch.count > 1 ? .tooLarge : .blocked("413: a single record is over the cloud's body limit")
        case 408, 429, 500...599:
            let after = response.headers.first(name: "retry-after").flatMap(Double.init).map { Duration.seconds($0) }
            return .retry(after: after, why: "\(code) \(text.prefix(200))")
        default:
            return .blocked("\(code) \(text.prefix(300))")
        }
    }
}

/// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form of the `Date` header.
/// Read by hand rather than with `DateFormatter`: the format is fixed, and `DateFormatter` maps
/// ICU's data into the agent's process (megabytes of resident memory on the station's machine).
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Date? {
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT", let day = Int(parts[1]), (1...31).contains(day),
              let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]), (1970...9999).contains(year) else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let h = Int(clock[0]), let m = Int(clock[1]), let sec = Int(clock[2]),
              (0...23).contains(h), (0...59).contains(m), (0...60).contains(sec) else { return nil }
        let days = CivilDate(year: year, month: month + 1, day: day).daysSinceEpoch
        return Date(timeIntervalSince1970: Double(days * 86_400 + Int64(h * 3600 + m * 60 + sec)))
    }
}
