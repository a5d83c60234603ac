import FuelDetect
import FuelLedger
import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// `GET /v1/stations/{station}`: registry entry, chain head and last record times, and per tank
/// what detection knows of its gauge (measured quality, the leak method in force, its detection limit).
public struct StationsController: Sendable {
    let registry: RegistryCache
    let store: RegistryStore
    let detection: DetectionStore
    let thresholds: DetectionThresholds

    public init(registry: RegistryCache, store: RegistryStore, detection: DetectionStore, thresholds: DetectionThresholds) {
        self.registry = registry
        self.store = store
        self.detection = detection
        self.thresholds = thresholds
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("stations/{station}", use: detail)
    }

    struct ChainDTO: Encodable {
        var headSeq: Int64
        var headHash: String
        var lastRecordAt: Date?
        var lastReceivedAt: Date?
        var lastByKind: [String: Date]
        enum CodingKeys: String, CodingKey {
            case headSeq = "head_seq", headHash = "head_hash", lastRecordAt = "last_record_at"
            case lastReceivedAt = "last_received_at", lastByKind = "last_record_at_by_kind"
        }
    }

    struct StationDTO: Encodable {
        var station: Station
        var cityName: String?
        var chain: ChainDTO
        var gauges: [TankAssessment]
        enum CodingKeys: String, CodingKey {
            case station, cityName = "city_name", chain, gauges
        }
    }

    @Sendable func detail(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let id = try context.parameters.require("station")
        let p = try context.requirePrincipal()
        guard p.canAct(as: .viewer) || p.station == id else { throw APIError(.forbidden, "a station key may only read its own station") }
        guard let profile = try await registry.profileReloadingIfUnknown(id) else { throw APIError(.notFound, "station \(id) is not in the registry") }
        guard let head = try await store.chainHead(station: id) else { throw APIError(.notFound, "station \(id) has no chain") }
        let city = registry.snapshot.registry.cities.first { $0.code == profile.station.city }
        // Detection's view of the gauges: empty until the detector has seen the station (or when its
        // stored state is from a format it no longer reads; detection starts that afresh).
        var gauges: [TankAssessment] = []
        if case .state(let detector) = try await detection.loadState(StationDetector.self, station: id) {
            gauges = detector.tankAssessments(thresholds: thresholds)
        }
        return try JSONResponse.make(StationDTO(
            station: profile.station, cityName: city?.name,
            chain: ChainDTO(headSeq: head.headSeq, headHash: head.headHash.hexString, lastRecordAt: head.lastRecordAt,
                            lastReceivedAt: head.lastReceivedAt, lastByKind: head.lastByKind),
            gauges: gauges))
    }
}
