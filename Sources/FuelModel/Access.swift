/// What a bearer token may do.
public enum AccessRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// A station's key: pushes that station's records, nothing else.
    case station
    /// Reads alerts, stations and reports.
    case viewer
    /// A viewer who also acknowledges and resolves alerts and runs inspections.
    case inspector
    /// Everything, including registry changes.
    case admin

    private var rank: Int {
        switch self {
        case .station: 0
        case .viewer: 1
        case .inspector: 2
        case .admin: 3
        }
    }
    public static func < (a: AccessRole, b: AccessRole) -> Bool { a.rank < b.rank }
}

/// The authenticated caller of a request.
public struct Principal: Hashable, Sendable {
    public var tokenID: Int64
    public var role: AccessRole
    /// The station a station key belongs to.
    public var station: String?
    public var name: String

    public init(tokenID: Int64, role: AccessRole, station: String?, name: String) {
        self.tokenID = tokenID
        self.role = role
        self.station = station
        self.name = name
    }

    /// Whether this caller is a regulator with at least `role`.
    public func canAct(as role: AccessRole) -> Bool { self.role != .station && self.role >= role }

    /// How the caller appears in the audit chain.
    public var actor: String { station.map { "station:\($0)" } ?? "\(role.rawValue):\(name)" }
}
