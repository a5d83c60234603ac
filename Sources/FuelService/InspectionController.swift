import FuelDetect
import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// The annual inspection (Liaoning item 9):
/// - `GET /v1/stations/{id}/inspection?year=Y[&as_of=D][&verify_chain=false]`: the pre-check, each
///   rule with outcome, reason and evidence (inspector or admin);
/// - `POST` on the same path records the verdict (audit chain); a fail queues notifications to the
///   emergency-management and market-supervision departments;
/// - `GET /v1/inspection-gaps[?city=…&kind=…]`: gaps province-wide (any regulator).
public struct InspectionController: Sendable {
    let store: InspectionStore
    let registry: RegistryCache
    let settings: InspectionSettings

    public init(store: InspectionStore, registry: RegistryCache, settings: InspectionSettings) {
        self.store = store
        self.registry = registry
        self.settings = settings
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("stations/{station}/inspection") { try await precheck($0, $1, record: false) }
        group.post("stations/{station}/inspection") { try await precheck($0, $1, record: true) }
        group.get("inspection-gaps", use: gaps)
    }

    struct RecordedDTO: Encodable {
        var id: Int64
        var auditSeq: Int64
        var recordedAt: Date
        var recordedBy: String
        var notifications: [Int64]
        enum CodingKeys: String, CodingKey {
            case id, auditSeq = "audit_seq", recordedAt = "recorded_at", recordedBy = "recorded_by", notifications
        }
    }

    struct PrecheckDTO: Encodable {
        var report: InspectionReport
        var stationName: String
        var city: String
        var recorded: RecordedDTO?

        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(stationName, forKey: .stationName)
            try c.encode(city, forKey: .city)
            try c.encodeIfPresent(recorded, forKey: .recorded)
        }
        enum Keys: String, CodingKey { case stationName = "station_name", city, recorded }
    }

    func precheck(_ request: Request, _ context: FuelRequestContext, record: Bool) async throws -> Response {
        let p = try context.requireRegulator(.inspector)
        let id = try context.parameters.require("station")
        guard let station = try await registry.profileReloadingIfUnknown(id)?.station else {
            throw APIError(.notFound, "station \(id) is not in the registry")
        }
        let q = request.uri.queryParameters
        guard let yearText = q.get("year") else { throw APIError(.badRequest, "year: required, e.g. ?year=2026") }
        guard let year = Int(yearText), (2000...2200).contains(year) else { throw APIError(.badRequest, "year: expected 2000…2200, got \"\(yearText)\"") }
        var asOf: CivilDate?
        if let text = q.get("as_of") {
            guard let d = CivilDate(iso: text) else { throw APIError(.badRequest, "as_of: expected YYYY-MM-DD, got \"\(text)\"") }
            asOf = d
        }
        let verify = q.get("verify_chain").map { $0 != "false" } ?? true
        let cityName = registry.snapshot.registry.cities.first { $0.code == station.city }?.name
        // A pre-check may read from a standby; recording one writes, so it stays on the primary.
        let store = record ? self.store : InspectionStore(database: self.store.database.forReading())
        let runner = InspectionRunner(store: store, settings: settings)
        let report: InspectionReport, recorded: RecordedDTO?
        do {
            let r = try await runner.run(station: station, cityName: cityName, year: year, asOf: asOf, verifyChain: verify,
                                         recordAs: record ? p.actor : nil)
            report = r.report
            recorded = r.recorded.map {
                RecordedDTO(id: $0.id, auditSeq: $0.auditSeq, recordedAt: $0.recordedAt, recordedBy: $0.recordedBy, notifications: $0.notifications)
            }
        } catch let e as InspectionRunner.InvalidRequest {
            // Well-formed, but not a year or day that can be judged (a year not yet begun, as_of outside it).
            throw APIError(.unprocessableContent, e.description)
        }
        return try JSONResponse.make(PrecheckDTO(report: report, stationName: station.name, city: station.city, recorded: recorded),
                                     status: record ? .created : .ok).readFrom(store.database)
    }

    struct GapsDTO: Encodable {
        var today: CivilDate
        var stations: Int
        var stationsWithGaps: Int
        var counts: [String: Int]
        var expiringByWindow: [String: Int]
        var gaps: [InspectionGap]
        enum CodingKeys: String, CodingKey {
            case today, stations, stationsWithGaps = "stations_with_gaps", counts, expiringByWindow = "licences_expiring_within", gaps
        }
    }

    @Sendable func gaps(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let q = request.uri.queryParameters
        let city = q.get("city")
        var kinds: Set<InspectionGap.Kind>?
        if let text = q.get("kind"), !text.isEmpty {  // empty: no filter
            var set = Set<InspectionGap.Kind>()
            for part in text.split(separator: ",") {
                guard let k = InspectionGap.Kind(rawValue: String(part)) else {
                    throw APIError(.badRequest, "kind: unknown \"\(part)\" (one of \(InspectionGap.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                set.insert(k)
            }
            kinds = set
        }
        let snapshot = registry.snapshot.registry
        if let city, !snapshot.cities.contains(where: { $0.code == city }) { throw APIError(.notFound, "city \(city) is not in the registry") }
        let store = InspectionStore(database: self.store.database.forReading())
        let (today, stations, all) = try await Self.gaps(city: city, kinds: kinds, stations: snapshot.stations, store: store, settings: settings)
        var counts: [String: Int] = [:], windows: [String: Int] = [:]
        for g in all {
            counts[g.kind.rawValue, default: 0] += 1
            if let w = g.withinDays { windows["\(w)", default: 0] += 1 }
        }
        return try JSONResponse.make(GapsDTO(
            today: today, stations: stations.count, stationsWithGaps: Set(all.map(\.station)).count, counts: counts,
            expiringByWindow: windows, gaps: all)).readFrom(store.database)
    }

    /// The inspection gaps of the stations (of one city, of some kinds), as of today in China
    /// Standard Time: what the API lists and the console shows.
    public static func gaps(city: String?, kinds: Set<InspectionGap.Kind>?, stations all: [Station], store: InspectionStore,
                            settings: InspectionSettings) async throws -> (today: CivilDate, stations: [Station], gaps: [InspectionGap]) {
        let now = Timestamp(Date())
        let today = LocalClock(timezone: "Asia/Shanghai").day(of: now)
        let facts = try await store.gapFacts(today: today, alertDeadlineHours: settings.alertDeadlineHours)
        let finder = InspectionGapFinder(silentDays: settings.silentDays, inspectionIntervalDays: settings.intervalDays)
        let stations = all.filter { city == nil || $0.city == city }
        var gaps: [InspectionGap] = []
        for s in stations {
            let local = LocalClock(timezone: s.timezone).day(of: now)
            gaps += finder.gaps(station: s, facts: facts[s.id] ?? StationGapFacts(), today: local, now: now).filter { kinds?.contains($0.kind) ?? true }
        }
        return (today, stations, gaps)
    }
}
