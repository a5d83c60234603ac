import FuelStore
import Foundation
import HTTPTypes
import Hummingbird

/// How an answer says where its data was read: `Fuelwarden-Read-Source` (`primary` or `standby`)
/// and `Fuelwarden-Read-Lag-Seconds` (how far behind the primary the data it read was; 0 on the
/// primary). Endpoints that may read from a standby (`database.read_url`) send both.
enum ReadSourceHeaders {
    static let source = HTTPField.Name("Fuelwarden-Read-Source")!
    static let lag = HTTPField.Name("Fuelwarden-Read-Lag-Seconds")!

    static func set(_ database: FuelDatabase, on headers: inout HTTPFields) {
        let read = database.readSource
        headers[source] = read.map { $0.isPrimary ? "primary" : "standby" } ?? "primary"
        headers[lag] = String(format: "%.3f", read?.lagSeconds ?? 0)
    }
}

extension Response {
    /// This answer, saying where `database` read its data.
    func readFrom(_ database: FuelDatabase) -> Response {
        var r = self
        ReadSourceHeaders.set(database, on: &r.headers)
        return r
    }
}
