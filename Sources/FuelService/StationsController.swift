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

    let devices: HJ212DeviceStore?
    let offlineAfter: Duration

    public init(registry: RegistryCache, store: RegistryStore, detection: DetectionStore, thresholds: DetectionThresholds,
                devices: HJ212DeviceStore? = nil, offlineAfter: Duration = .seconds(600)) {
        self.registry = registry
        self.store = store
        self.detection = detection
        self.thresholds = thresholds
        self.devices = devices
        self.offlineAfter = offlineAfter
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
        var lastPushSeq: Int64
        enum CodingKeys: String, CodingKey {
            case headSeq = "head_seq", headHash = "head_hash", lastRecordAt = "last_record_at"
            case lastReceivedAt = "last_received_at", lastByKind = "last_record_at_by_kind", lastPushSeq = "last_push_seq"
        }
    }

    /// An HJ 212 device of the station as the listener last saw it.
    struct DeviceDTO: Encodable {
        var mn: String
        var edition: String
        var online: Bool
        var lastSeenAt: Date
        var lastDataAt: Date?
        var packets: Int64
        var resentPackets: Int64
        var missingFrom: Date?
        var missingTo: Date?
        enum CodingKeys: String, CodingKey {
            case mn, edition, online, lastSeenAt = "last_seen_at", lastDataAt = "last_data_at", packets
            case resentPackets = "resent_packets", missingFrom = "missing_from", missingTo = "missing_to"
        }
    }

    struct StationDTO: Encodable {
        var station: Station
        var cityName: String?
        var chain: ChainDTO
        var gauges: [TankAssessment]
        var devices: [DeviceDTO]
        enum CodingKeys: String, CodingKey {
            case station, cityName = "city_name", chain, gauges, devices
        }
    }

    @Sendable func detail(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let id = try context.parameters.require("station")
        let p = try context.requirePrincipal()
        guard p.canAct(as: .viewer) || p.station == id else { throw APIError(.forbidden, "a station key may only read its own station") }
        guard let profile = try await registry.profileReloadingIfUnknown(id) else { throw APIError(.notFound, "station \(id) is not in the registry") }
        let database = store.database.forReading()
        let store = RegistryStore(database: database), detection = DetectionStore(database: database)
        let devices = self.devices.map { _ in HJ212DeviceStore(database: database) }
        guard let head = try await store.chainHead(station: id) else { throw APIError(.notFound, "station \(id) has no chain") }
        let city = registry.snapshot.registry.cities.first { $0.code == profile.station.city }
        // Detection's view of the gauges: empty until the detector has seen the station (or when its
        // stored state is from a format it no longer reads; detection starts that afresh).
        var gauges: [TankAssessment] = []
        if case .state(let detector) = try await detection.loadState(StationDetector.self, station: id) {
            gauges = detector.tankAssessments(thresholds: thresholds)
        }
        var deviceList: [DeviceDTO] = []
        let now = Timestamp(Date())
        for row in try await devices?.rows(station: id) ?? [] {
            guard let feed = HJ212DeviceBook.feed(row) else { continue }
            let owed = feed.owed
            deviceList.append(DeviceDTO(
                mn: row.mn, edition: row.edition, online: feed.lastSeenAt.seconds(to: now) <= offlineAfter.inSeconds,
                lastSeenAt: row.lastSeenAt, lastDataAt: row.lastDataAt, packets: row.packets, resentPackets: row.resent,
                missingFrom: owed?.from.date, missingTo: owed?.to.date))
        }
        return try JSONResponse.make(StationDTO(
            station: profile.station, cityName: city?.name,
            chain: ChainDTO(headSeq: head.headSeq, headHash: head.headHash.hexString, lastRecordAt: head.lastRecordAt,
                            lastReceivedAt: head.lastReceivedAt, lastByKind: head.lastByKind, lastPushSeq: head.lastPushSeq),
            gauges: gauges, devices: deviceList)).readFrom(database)
    }
}
