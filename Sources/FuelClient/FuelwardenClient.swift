import AsyncHTTPClient
import FuelAsync
import FuelWire
import Foundation
import NIOCore
import NIOHTTP1

/// A client of Fuelwarden's HTTP API (the demo, the simulator, the benchmarks and the fault tests
/// use it, exactly as a station's collector or a regulator's tool would).
public struct FuelwardenClient: Sendable {
    public let baseURL: String
    let http: HTTPClient

    public init(baseURL: String, http: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = http
    }

    public struct Failure: Error, CustomStringConvertible {
        public var status: Int
        public var body: String
        public var description: String { "HTTP \(status): \(body)" }
    }

    /// Pushes NDJSON lines for a station and returns the verdict. A 503 (nothing committed), 408 or
    /// 429 is retried after the backoff (at least the Retry-After the daemon sent), as the contract
    /// allows: pushes are idempotent on seq.
    public func push(station: String, key: String, lines: [String], attempts: Int = 6,
                     backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(5))) async throws -> PushVerdict {
        let body = lines.joined(separator: "\n") + "\n"
        var attempt = 0
        while true {
            attempt += 1
            let reply = try await exchange(.POST, "/v1/stations/\(station)/records", token: key, body: body,
                                           contentType: "application/x-ndjson")
            if reply.status == 200 { return try PushVerdict(jsonText: reply.body) }
            guard [408, 429, 503].contains(reply.status), attempt < attempts else { throw Failure(status: reply.status, body: reply.body) }
            try await Task.sleep(for: backoff.delay(afterFailures: attempt, retryAfter: Backoff.retryAfter(reply.retryAfter)))
        }
    }

    /// A raw request: status and body text.
    public func send(_ method: HTTPMethod, _ path: String, token: String?, body: String? = nil,
                     contentType: String = "application/json", timeoutSeconds: Int64 = 60) async throws -> (Int, String) {
        let r = try await exchange(method, path, token: token, body: body, contentType: contentType, timeoutSeconds: timeoutSeconds)
        return (r.status, r.body)
    }

    /// An answer with the headers a client acts on.
    public struct Reply: Sendable {
        public var status: Int
        public var retryAfter: String?
        public var body: String
    }

    /// A raw request: status, Retry-After and body text.
    public func exchange(_ method: HTTPMethod, _ path: String, token: String?, body: String? = nil, bytes: [UInt8]? = nil,
                         contentType: String = "application/json", timeoutSeconds: Int64 = 60) async throws -> Reply {
        var req = HTTPClientRequest(url: baseURL + path)
        req.method = method
        if let token { req.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let payload = bytes.map({ ByteBuffer(bytes: $0) }) ?? body.map({ ByteBuffer(string: $0) }) {
            req.headers.add(name: "Content-Type", value: contentType)
            req.body = .bytes(payload)
        }
        let res = try await http.execute(req, timeout: .seconds(timeoutSeconds))
        let buf = try await res.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: Int(res.status.code), retryAfter: res.headers.first(name: "Retry-After"), body: String(buffer: buf))
    }
}
