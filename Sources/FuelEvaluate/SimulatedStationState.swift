import FuelDetect
import FuelModel
import FuelSim
import FuelWire

/// The detector state of a busy station after some days: the demo registry's first station (four
/// tanks, eight nozzles) simulated on a gauge profile with vapour monitoring, its records fed to a
/// ``StationDetector`` in chain order — what the state's size test and `bench state` measure.
package enum SimulatedStationState {
    package enum Failure: Error, CustomStringConvertible {
        case unknownProfile(String)
        case noStation
        package var description: String {
            switch self {
            case .unknownProfile(let name): "unknown gauge profile \(name) (one of: \(GaugeProfile.matrix.map(\.name).joined(separator: ", ")))"
            case .noStation: "the demo registry has no station"
            }
        }
    }

    package static func detector(gauge name: String, days: Double, seed: UInt64,
                                 start: Timestamp = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!) throws -> StationDetector {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        guard let station = registry.stations.first, let profile = StationProfile(stationID: station.id, registry: registry) else {
            throw Failure.noStation
        }
        guard let gauge = GaugeProfile.named(name) else { throw Failure.unknownProfile(name) }
        var scenario = StationScenario(station: station, seed: seed, start: start, days: days, prices: DemoRegistry.prices)
        scenario.gauge = gauge
        scenario.usage = gauge.usage
        scenario.vapourMonitoring = true
        var simulator = StationSimulator(scenario)
        var detector = StationDetector(station: station.id)
        for (i, record) in simulator.records().enumerated() {
            _ = detector.observe(LedgerEntry(station: station.id, chainSeq: Int64(i + 1), source: .push, sourceSeq: Int64(i + 1), record: record),
                                 profile: profile, thresholds: DetectionThresholds())
        }
        return detector
    }
}
