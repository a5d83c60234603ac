import FuelModel
import FuelStore
import FuelTestSupport
import Foundation

/// Two stations and tank readings for them (shared with the service tests).
typealias Fixtures = TwoStations

/// The least a detector state has: its station and how far it has read. The store keeps any
/// Codable state as JSON; the store tests need no real detectors.
struct DetectorCursor: Codable, Sendable {
    var station: String
    var cursor: Int64 = 0
    mutating func skip(to seq: Int64) { cursor = max(cursor, seq) }
}
