#if Lab
import ArgumentParser
import FuelModel
import FuelService
import FuelLab
import FuelSim
import FuelWire
import Foundation
import ServiceLifecycle

/// `fuelwarden atg-emulator`: a simulated station's tank gauge over the Veeder-Root TLS protocol.
struct AtgEmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atg-emulator",
        abstract: "Serve a simulated station's tanks over the Veeder-Root TLS protocol (i201, I201, i202, i205).")
    @Option(help: "Listen address.") var host = "127.0.0.1"
    @Option(help: "Listen port (consoles use 10001).") var port = 10001
    @Option(help: "Station of the demo registry to simulate.") var station = "LN-SY-0001"
    @Option(help: "Registry file to take the station from (default: the demo registry).") var registry: String?
    @Option(help: "Console units: metric (litres, mm, °C) or us (gallons, inches, °F).") var units = "metric"
    @Option(help: "Security code the console requires (6 characters).") var securityCode: String?
    @Option(help: "Simulator seed.") var seed: UInt64 = 1
    @Option(help: "Simulated time per real second.") var speed = 1.0
    @Option(help: "Log level.") var logLevel = "notice"

    func run() async throws {
        guard let u = VeederRootTLS.Units(rawValue: units) else { fail("--units must be metric or us, got \(units)") }
        if let code = securityCode, code.utf8.count != 6 { fail("--security-code must be 6 characters") }
        let yaml: String
        if let registry {
            guard let text = try? String(contentsOfFile: registry, encoding: .utf8) else { fail("cannot read \(registry)") }
            yaml = text
        } else {
            yaml = DemoRegistry.yaml(stations: 20)
        }
        let reg = try RegistryFileDecoder.decode(yaml: yaml)
        guard let s = reg.stations.first(where: { $0.id == station }) else {
            fail("station \(station) is not in the registry (e.g. \(reg.stations.prefix(3).map(\.id).joined(separator: ", ")))")
        }
        var settings = ATGEmulator.Settings()
        settings.host = host
        settings.port = port
        settings.units = u
        settings.securityCode = securityCode
        settings.seed = seed
        settings.speed = speed
        let logger = makeLogger(.init(rawValue: logLevel) ?? .notice, label: "atg-emulator")
        let emulator = ATGEmulator(station: s, settings: settings, logger: logger) { port in
            say("ATG emulator for \(s.id) (\(s.tanks.count) tanks, \(u.rawValue)) on \(host):\(port)")
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: EmulatorService(emulator: emulator))], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct EmulatorService: Service {
    let emulator: ATGEmulator
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await emulator.run() }
        } catch is CancellationError {
            // Graceful shutdown: the listener was closed on purpose.
        }
    }
}
#endif
