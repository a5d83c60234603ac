import FuelDetect
import FuelModel
import FuelSim
import FuelWire

/// The detector state of a busy station after some days: the demo registry's first station (four
/// tanks, eight nozzles) simulated on a gauge profile with vapour monitoring, its records fed to a
/// ``StationDetector`` in chain order — what the state's size test and `bench state` measure.
package enum SimulatedStationState {
    package enum Failure: Error, CustomStringConvertible {
        case profile(GaugeProfile.SpecError)
        case noStation
        package var description: String {
            switch self {
            case .profile(let error): error.description
            case .noStation: "the demo registry has no station"
            }
        }
    }

    package static func detector(gauge name: String, days: Double, seed: UInt64,
                                 start: Timestamp = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!,
                                 thresholds: DetectionThresholds = DetectionThresholds()) throws -> StationDetector {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        guard let station = registry.stations.first, let profile = StationProfile(stationID: station.id, registry: registry) else {
            throw Failure.noStation
        }
        let gauge: GaugeProfile
        do { gauge = try GaugeProfile.parse(name) } catch { throw Failure.profile(error) }
        var scenario = StationScenario(station: station, seed: seed, start: start, days: days, prices: DemoRegistry.prices)
        scenario.gauge = gauge
        scenario.usage = gauge.usage
        scenario.vapourMonitoring = true
        var simulator = StationSimulator(scenario)
        var detector = StationDetector(station: station.id)
        for (i, record) in simulator.records().enumerated() {
            _ = detector.observe(LedgerEntry(station: station.id, chainSeq: Int64(i + 1), source: .push, sourceSeq: Int64(i + 1), record: record),
                                 profile: profile, thresholds: thresholds)
        }
        return detector
    }
}
