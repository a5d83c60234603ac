import AsyncHTTPClient
import FuelFeeds
import FuelModel
import FuelWire
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `fuelwarden agent`: one process at the station. It reads the station's sources (Veeder-Root
/// consoles on the local network, the sales system's drop directory), spools every record durably
/// with the station's next seq, and uploads the spool to the cloud; a local status server answers
/// `/healthz`, `/status` and `/metrics`.
public struct StationAgent: Sendable {
    public let config: AgentConfigFile
    public let spool: AgentSpool
    let key: String
    let logger: Logger

    /// Opens the spool and reads the station key (its file must be private: mode 0600 or stricter).
    public init(config: AgentConfigFile, logger: Logger) throws {
        self.config = config
        self.logger = logger
        key = try Self.readKey(config.keyFile)
        spool = try AgentSpool(directory: config.spoolDirectory, maxBytes: config.spoolMaxBytes)
    }

    /// The station key from its file: refused when others may read it; the message never shows the key.
    public static func readKey(_ path: String) throws -> String {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw AgentError("key_file: cannot read \(path)")
        }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw AgentError(String(format: "key_file: %@ is readable by others (mode %o); it holds the station key: chmod 600 %@", path, mode & 0o777, path))
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw AgentError("key_file: cannot read \(path)") }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, !key.contains(where: { $0.isWhitespace }) else { throw AgentError("key_file: \(path) must hold the key alone, on one line") }
        return key
    }

    /// The agent's services: sources, uploader, status server. `onStatusPort` receives the bound port.
    public func serviceGroup(onStatusPort: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> (ServiceGroup, HTTPClient) {
        let client = try CloudUploader.makeClient(config)
        let doorbell = Doorbell()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        services.append(.init(service: CloudUploader(config: config, key: key, spool: spool, client: client, doorbell: doorbell, logger: logger)))
        if let dir = config.dropDirectory {
            services.append(.init(service: DropDirectoryReader(directory: dir, spool: spool, every: .seconds(config.dropScanSeconds),
                                                               logger: logger, wake: { doorbell.ring() })))
        }
        if !config.consoles.isEmpty {
            let sink = AgentSpoolSink(spool: spool, timezone: config.timezone, logger: logger, wake: { doorbell.ring() })
            services.append(.init(service: ATGPoller(consoles: config.consoles, settings: ATGPollerSettings(), sink: sink, logger: logger)))
        }
        services.append(.init(service: statusServer(onPort: onStatusPort)))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        return (group, client)
    }

    /// Runs until SIGTERM / SIGINT.
    public func run() async throws {
        let (group, client) = try serviceGroup()
        logger.notice("station agent started", metadata: [
            "station": "\(config.station)", "cloud": "\(config.cloudURL)", "spool": "\(spool.path)",
            "consoles": "\(config.consoles.count)", "drop_directory": "\(config.dropDirectory ?? "-")",
        ])
        do {
            try await group.run()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func statusServer(onPort: @escaping @Sendable (Int) async -> Void) -> some Service {
        let router = Router()
        let spool = self.spool
        router.get("healthz") { _, _ in "ok\n" }
        router.get("status") { _, _ -> Response in
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let body = try encoder.encode(try spool.snapshot())
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("metrics") { _, _ -> Response in
            let s = try spool.snapshot()
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
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: t)))
        }
        return Application(router: router, configuration: .init(address: .hostname(config.statusHost, port: config.statusPort), serverName: "fuelwarden-agent"),
                           onServerRunning: { channel in await onPort(channel.localAddress?.port ?? 0) }, logger: logger)
    }
}
