import AsyncHTTPClient
import FuelFeeds
import FuelModel
import FuelWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
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
        let text: String
        do {
            text = try SecretFile.read(path, holds: "the station key")
        } catch {
            throw AgentError("key_file: \(error.description)")
        }
        let key = text.trimmingWhiteSpace()
        guard !key.isEmpty, !key.contains(where: { $0.isWhitespace }) else { throw AgentError("key_file: \(path) must hold the key alone, on one line") }
        return key
    }

    /// The agent's services: sources, uploader, status server. `onStatusPort` (and `onHJ212Port`,
    /// with an HJ 212 listener) receive the bound ports.
    public func serviceGroup(onStatusPort: @escaping @Sendable (Int) async -> Void = { _ in },
                             onHJ212Port: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> (ServiceGroup, HTTPClient) {
        let listener = try hj212Listener(onListening: onHJ212Port)
        let client = try CloudUploader.makeClient(config)
        let doorbell = Doorbell()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        services.append(.init(service: CloudUploader(config: config, key: key, spool: spool, client: client, doorbell: doorbell, logger: logger)))
        if let dir = config.dropDirectory {
            services.append(.init(service: DropDirectoryReader(directory: dir, spool: spool, every: .seconds(config.dropScanSeconds),
                                                               logger: logger, wake: { doorbell.ring() })))
        }
        let sink = AgentSpoolSink(spool: spool, timezone: config.timezone, logger: logger, wake: { doorbell.ring() })
        if !config.consoles.isEmpty {
            services.append(.init(service: ATGPoller(consoles: config.consoles, settings: ATGPollerSettings(), sink: sink, logger: logger)))
        }
        if let listener {
            services.append(.init(service: listener(sink)))
        }
        services.append(.init(service: AgentStatusServer(host: config.statusHost, port: config.statusPort, spool: spool, logger: logger, onPort: onStatusPort)))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        return (group, client)
    }

    /// The HJ 212 listener for the monitors at the station (`hj212:`), its device keys in the
    /// spool; nil without one. The key file is read (and refused unless private) here, at start-up.
    func hj212Listener(onListening: @escaping @Sendable (Int) async -> Void)
        throws -> (@Sendable (AgentSpoolSink) -> HJ212Listener<AgentSpoolSink, HJ212KeyBook>)? {
        guard let h = config.hj212 else { return nil }
        var keyFile: [String: [HJ212KeyRing.Key]] = [:]
        if let path = h.keyFile {
            do {
                keyFile = try HJ212KeyFile.decode(yaml: try SecretFile.read(path, holds: "SM4 keys"))
            } catch {
                throw AgentError("hj212.key_file: \(error)")
            }
        }
        var settings = HJ212ListenerSettings()
        settings.host = h.host
        settings.port = h.port
        settings.keyOverlap = .seconds(h.keyOverlapHours * 3600)
        settings.keyRotateAfter = .seconds(h.keyRotateAfterDays * 86_400)
        let book = HJ212KeyBook(devices: h.devices, keyFile: keyFile, overlap: settings.keyOverlap, rotateAfter: settings.keyRotateAfter,
                                storage: SpoolHJ212KeyStorage(spool: spool), logger: logger)
        let logger = self.logger, listening = settings
        return { sink in HJ212Listener(settings: listening, devices: h.devices, book: book, sink: sink, logger: logger, onListening: onListening) }
    }

    /// Runs until SIGTERM / SIGINT.
    public func run() async throws {
        let (group, client) = try serviceGroup()
        logger.notice("station agent started", metadata: [
            "station": "\(config.station)", "cloud": "\(config.cloudURL)", "spool": "\(spool.path)",
            "consoles": "\(config.consoles.count)", "drop_directory": "\(config.dropDirectory ?? "-")",
            "hj212_devices": "\(config.hj212?.devices.count ?? 0)",
        ])
        do {
            try await group.run()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
