import FuelDetect
import FuelModel
import FuelStore
import Foundation

/// Runs the annual-inspection pre-check for a station and, when asked, records the verdict with its
/// notifications: the one path the API (`/v1/stations/{id}/inspection`) and `fuelwarden inspect` share.
public struct InspectionRunner: Sendable {
    let store: InspectionStore
    let settings: InspectionSettings

    public init(store: InspectionStore, settings: InspectionSettings) {
        self.store = store
        self.settings = settings
    }

    /// A request the caller got wrong (year not started, as-of outside the year).
    public struct InvalidRequest: Error, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    /// The pre-check of `station` for `year`, judged on `asOf` (default: the year's end, or today
    /// while it runs, in the station's time zone); recorded when `recordAs` names the actor.
    public func run(
        station: Station, cityName: String?, year: Int, asOf: CivilDate? = nil, verifyChain: Bool = true, recordAs actor: String? = nil,
        now: Date = Date()
    ) async throws -> (report: InspectionReport, recorded: RecordedInspection?) {
        let today = LocalClock(timezone: station.timezone).day(of: Timestamp(now))
        guard year <= today.year else { throw InvalidRequest(field: "year", message: "\(year) has not started (today is \(today))") }
        let day = asOf ?? InspectionPrecheck.asOf(year: year, today: today)
        guard day.year == year else { throw InvalidRequest(field: "as_of", message: "\(day) is not in \(year)") }
        let facts = try await store.facts(station: station.id, year: year, asOf: day, verifyChain: verifyChain)
        let report = InspectionPrecheck(expiryWarningDays: settings.expiryWarningDays, minimumDataCoverage: settings.minimumDataCoverage)
            .evaluate(station: station, year: year, asOf: day, facts: facts)
        guard let actor else { return (report, nil) }
        let recorded = try await store.record(report, actor: actor) { inspectionID in
            report.verdict == .fail
                ? InspectionNotices.failure(report, station: station, cityName: cityName, inspectionID: inspectionID, recordedBy: actor)
                : []
        }
        return (report, recorded)
    }
}
