// What the store gathers about a station for the annual inspection and the province-wide gap list:
// plain facts, shared by FuelStore (which reads them) and FuelDetect (which judges them).

/// What the annual-inspection pre-check knows about a station besides its registry entry: figures
/// the store gathers from the ledger, the alerts and the chain.
public struct InspectionFacts: Sendable, Hashable {
    /// Local days of the inspection year (up to the as-of date) on which the station sent any record.
    public var daysWithData: Int
    /// Ids of critical alerts still open or acknowledged (not resolved).
    public var unresolvedCriticalAlerts: [Int64]
    /// Records checked and the first break, if the station's chain does not recompute.
    public var chainRecordsChecked: Int64
    public var chainBreak: String?

    public init(daysWithData: Int, unresolvedCriticalAlerts: [Int64] = [], chainRecordsChecked: Int64 = 0, chainBreak: String? = nil) {
        self.daysWithData = daysWithData
        self.unresolvedCriticalAlerts = unresolvedCriticalAlerts
        self.chainRecordsChecked = chainRecordsChecked
        self.chainBreak = chainBreak
    }
}

/// What the province-wide gap list knows about a station beyond its registry entry.
public struct StationGapFacts: Sendable, Hashable {
    /// Wall-clock time the station's last record arrived; nil if it never sent one.
    public var lastReceived: Timestamp?
    /// Days with data from `dataFrom` up to yesterday.
    public var daysWithData: Int
    /// First day the count runs from: January 1, or the station's first day with data if later.
    public var dataFrom: CivilDate?
    /// Day of the last recorded inspection; nil if never inspected.
    public var lastInspected: CivilDate?
    /// Unresolved alerts past their deadline: id, rule, severity, hours open.
    public var overdueAlerts: [OverdueAlert]

    public init(lastReceived: Timestamp? = nil, daysWithData: Int = 0, dataFrom: CivilDate? = nil,
                lastInspected: CivilDate? = nil, overdueAlerts: [OverdueAlert] = []) {
        self.lastReceived = lastReceived
        self.daysWithData = daysWithData
        self.dataFrom = dataFrom
        self.lastInspected = lastInspected
        self.overdueAlerts = overdueAlerts
    }
}

/// An alert left unresolved past its deadline (`inspection.alert_deadline_hours`).
public struct OverdueAlert: Sendable, Hashable {
    public var id: Int64
    public var rule: AlertRule
    public var severity: Severity
    public var hoursOpen: Double

    public init(id: Int64, rule: AlertRule, severity: Severity, hoursOpen: Double) {
        self.id = id
        self.rule = rule
        self.severity = severity
        self.hoursOpen = hoursOpen
    }
}
