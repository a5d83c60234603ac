import AsyncHTTPClient
import FuelWire
import Foundation
import NIOCore
import NIOHTTP1

/// A client of Fuelwarden's HTTP API (the demo, the simulator and the benchmark use it, exactly
/// as a station's collector or a regulator's tool would).
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

    /// Pushes NDJSON lines for a station; returns the verdict, or throws on a non-200 answer.
    public func push(station: String, key: String, lines: [String]) async throws -> PushVerdict {
        let (status, body) = try await send(.POST, "/v1/stations/\(station)/records", token: key,
                                            body: lines.joined(separator: "\n") + "\n", contentType: "application/x-ndjson")
        guard status == 200 else { throw Failure(status: status, body: body) }
        return try PushVerdict(jsonText: body)
    }

    /// A raw request: status and body text.
    public func send(_ method: HTTPMethod, _ path: String, token: String?, body: String? = nil,
                     contentType: String = "application/json", timeoutSeconds: Int64 = 60) async throws -> (Int, String) {
        var req = HTTPClientRequest(url: baseURL + path)
        req.method = method
        if let token { req.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            req.headers.add(name: "Content-Type", value: contentType)
            req.body = .bytes(ByteBuffer(string: body))
        }
        let res = try await http.execute(req, timeout: .seconds(timeoutSeconds))
        let buf = try await res.body.collect(upTo: 64 * 1024 * 1024)
        return (Int(res.status.code), String(buffer: buf))
    }
}
