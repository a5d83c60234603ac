import FuelDetect
import FuelModel
import FuelStore
import Foundation

/// The notifications a recorded inspection verdict sends. Liaoning item 9: a station that fails
/// has its retail approval withdrawn and is ordered to stop, and the emergency-management and
/// market-supervision departments are told.
enum InspectionNotices {
    static let departments = ["emergency_management", "market_supervision"]

    struct Payload: Encodable {
        var topic = "inspection.fail"
        var inspection: Int64
        var station: String
        var stationName: String
        var city: String
        var cityName: String?
        var year: Int
        var asOf: CivilDate
        var verdict: String
        var failing: [InspectionFinding]
        var recordedBy: String
        var department: String
        enum CodingKeys: String, CodingKey {
            case topic, inspection, station, stationName = "station_name", city, cityName = "city_name", year, asOf = "as_of"
            case verdict, failing, recordedBy = "recorded_by", department
        }
    }

    static func failure(_ r: InspectionReport, station: Station, cityName: String?, inspectionID: Int64, recordedBy: String) -> [OutboxMessage] {
        let failing = r.findings.filter { $0.outcome == .fail }
        let subject = "\(station.id) \(station.name) failed the \(r.year) annual inspection: " + failing.map(\.reason).joined(separator: "; ")
        return departments.map { dept in
            let payload = Payload(inspection: inspectionID, station: station.id, stationName: station.name, city: station.city, cityName: cityName,
                                  year: r.year, asOf: r.asOf, verdict: r.verdict.rawValue, failing: failing, recordedBy: recordedBy, department: dept)
            return OutboxMessage(topic: "inspection.fail", recipient: "department:\(dept)", subject: subject,
                                 payload: String(decoding: (try? JSONResponse.encoder.encode(payload)) ?? Data("{}".utf8), as: UTF8.self))
        }
    }
}
