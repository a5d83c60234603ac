/// A safety hazard found at a station (Liaoning item 9: a station with an unremedied hazard fails
/// its annual inspection).
public struct SafetyHazard: Hashable, Codable, Sendable {
    public var id: String
    public var description: String
    public var opened: CivilDate
    /// The day it was remedied; nil while it is open.
    public var remedied: CivilDate?

    public init(id: String, description: String, opened: CivilDate, remedied: CivilDate? = nil) {
        self.id = id
        self.description = description
        self.opened = opened
        self.remedied = remedied
    }

    /// Whether the hazard had been found and not yet remedied on `date`.
    public func isOpen(on date: CivilDate) -> Bool { opened <= date && (remedied.map { $0 > date } ?? true) }
}

/// A case of illegal operation opened against a station; an open *serious* case fails the
/// annual inspection.
public struct ViolationCase: Hashable, Codable, Sendable {
    public var id: String
    public var description: String
    public var serious: Bool
    public var opened: CivilDate
    /// The day it was closed; nil while it is open.
    public var closed: CivilDate?

    public init(id: String, description: String, serious: Bool, opened: CivilDate, closed: CivilDate? = nil) {
        self.id = id
        self.description = description
        self.serious = serious
        self.opened = opened
        self.closed = closed
    }

    public func isOpen(on date: CivilDate) -> Bool { opened <= date && (closed.map { $0 > date } ?? true) }
}

/// The licences and approvals an annual inspection looks for.
public enum InspectionDocuments {
    /// Licence kinds: business licence, hazardous-chemicals trading licence, oil retail approval certificate.
    public static let licences = ["business", "hazardous_chemicals", "retail_approval"]
    /// Approval kinds: environmental and planning.
    public static let approvals = ["environmental", "planning"]

    /// Whether `kind` names a licence the inspection checks.
    public static func isLicenceKind(_ kind: String) -> Bool { licences.contains(kind) }
    /// Whether `kind` names an approval the inspection checks.
    public static func isApprovalKind(_ kind: String) -> Bool { approvals.contains(kind) }
}
