import FuelFeeds
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The agent's local status server: `GET /healthz`, `/status` (the spool's snapshot as JSON) and
/// `/metrics` (Prometheus text), on NIO's HTTP/1 pipeline. Three fixed routes do not need a web
/// framework, and on the station's small machine a framework's code is memory: the agent built
/// with Hummingbird for these idled at 42.2 MB resident, built without Hummingbird and without any
/// status server at 39.6 MB; with this server its steady peak is 42.3 MB against 45.2 before.
struct AgentStatusServer: Service {
    let host: String
    let port: Int
    let spool: AgentSpool
    let logger: Logger
    let onPort: @Sendable (Int) async -> Void

    func run() async throws {
        let server = try await ConnectionAcceptor<HTTPServerRequestPart, HTTPServerResponsePart>.bind(host: host, port: port) { channel in
            // A status client that goes quiet is let go: the server holds nothing for it.
            try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: .seconds(30)), CloseOnIdle()])
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
        }
        let bound = server.port ?? port
        logger.notice("agent status server listening", metadata: ["address": "\(host):\(bound)"])
        await onPort(bound)
        // Graceful shutdown closes the listener: the serving ends, and is not a failure of the service group.
        await cancelWhenGracefulShutdown {
            await serveEachConnection(of: server) { connection in try? await serve(connection) }
        }
    }

    func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let h): head = h
                case .body: continue  // no route takes a body
                case .end:
                    guard let request = head else { continue }
                    head = nil
                    let (status, type, body) = answer(request)
                    var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", "\(body.readableBytes)"), ("Server", "fuelwarden-agent")])
                    if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(body)))
                    try await outbound.write(.end(nil))
                    if !request.isKeepAlive { return }
                }
            }
        }
    }

    /// The answer to one request: status, content type, body.
    func answer(_ request: HTTPRequestHead) -> (HTTPResponseStatus, String, ByteBuffer) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let text = "text/plain; charset=utf-8"
        guard ["/healthz", "/status", "/metrics"].contains(path) else { return (.notFound, text, ByteBuffer(string: "not found\n")) }
        guard request.method == .GET else { return (.methodNotAllowed, text, ByteBuffer(string: "GET only\n")) }
        do {
            switch path {
            case "/healthz":
                return (.ok, text, ByteBuffer(string: "ok\n"))
            case "/status":
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                return (.ok, "application/json", ByteBuffer(bytes: try encoder.encode(try spool.snapshot())))
            default:
                return (.ok, "text/plain; version=0.0.4", ByteBuffer(string: Self.metrics(try spool.snapshot())))
            }
        } catch {
            logger.warning("status not read", metadata: ["error": "\(error)"])
            return (.internalServerError, text, ByteBuffer(string: "the spool could not be read\n"))
        }
    }

    /// The spool's figures in Prometheus' text format.
    static func metrics(_ s: AgentStatus) -> String {
        var t = ""
        func gauge(_ name: String, _ help: String, _ value: Double) {
            t += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
        }
        gauge("fuelwarden_agent_spooled_records", "Records in the spool, not yet acknowledged by the cloud.", Double(s.spooledRecords))
        gauge("fuelwarden_agent_spool_bytes", "Bytes the spool uses.", Double(s.spoolBytes))
        gauge("fuelwarden_agent_spool_max_bytes", "The spool's ceiling.", Double(s.spoolMaxBytes))
        gauge("fuelwarden_agent_oldest_record_age_seconds", "Age of the oldest spooled record.", s.oldestAgeSeconds ?? 0)
        gauge("fuelwarden_agent_spool_full", "1 while the spool is at its ceiling (sources paused).", s.fullSince == nil ? 0 : 1)
        gauge("fuelwarden_agent_acknowledged_seq", "Highest seq the cloud acknowledged.", Double(s.acknowledgedSeq ?? 0))
        gauge("fuelwarden_agent_accepted_total", "Records the cloud accepted.", Double(s.acceptedTotal))
        gauge("fuelwarden_agent_rejected_total", "Records the cloud refused.", Double(s.rejectedTotal))
        gauge("fuelwarden_agent_upload_blocked", "1 while the cloud refuses uploads (a 4xx).", s.uploadBlocked == nil ? 0 : 1)
        gauge("fuelwarden_agent_clock_offset_seconds", "The cloud's clock minus the station's.", s.clockOffsetSeconds ?? 0)
        return t
    }
}
