import FuelLedger
import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// `GET /v1/stations/{station}`: registry entry, chain head and last record times.
public struct StationsController: Sendable {
    let registry: RegistryCache
    let store: RegistryStore

    public init(registry: RegistryCache, store: RegistryStore) {
        self.registry = registry
        self.store = store
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
        enum CodingKeys: String, CodingKey {
            case station, cityName = "city_name", chain
        }
    }

    @Sendable func detail(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let id = try context.parameters.require("station")
        let p = try context.requirePrincipal()
        guard p.canAct(as: .viewer) || p.station == id else { throw APIError(.forbidden, "a station key may only read its own station") }
        guard let profile = try await registry.profileReloadingIfUnknown(id) else { throw APIError(.notFound, "station \(id) is not in the registry") }
        guard let head = try await store.chainHead(station: id) else { throw APIError(.notFound, "station \(id) has no chain") }
        let city = registry.snapshot.registry.cities.first { $0.code == profile.station.city }
        return try JSONResponse.make(StationDTO(
            station: profile.station, cityName: city?.name,
            chain: ChainDTO(headSeq: head.headSeq, headHash: head.headHash.hexString, lastRecordAt: head.lastRecordAt,
                            lastReceivedAt: head.lastReceivedAt, lastByKind: head.lastByKind)))
    }
}
