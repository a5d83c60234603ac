
/// The rules Fuelwarden flags (design brief, "What to flag").
public enum AlertRule: String, Codable, Sendable, CaseIterable {
    case reconciliationVariance = "reconciliation_variance"
    case undeclaredDelivery = "undeclared_delivery"
    case deliveryMismatch = "delivery_mismatch"
    case impossibleSale = "impossible_sale"
    case priceAboveCeiling = "price_above_ceiling"
    case seqGap = "seq_gap"
    case seqConflict = "seq_conflict"
    case afterHoursSale = "after_hours_sale"
    case tankSafety = "tank_safety"
    case totalizerAnomaly = "totalizer_anomaly"
    case telemetryGap = "telemetry_gap"
    case leakSuspected = "leak_suspected"
    case stockGain = "stock_gain"
    case meterDrift = "meter_drift"
    case vapourRecovery = "vapour_recovery"
    case falsifiedTelemetry = "falsified_telemetry"
    /// A tank gauge too coarse, noisy, glitchy or sparse for the leak test to reach its target (info).
    case gaugeQuality = "gauge_quality"
    /// An HJ 212 device's SM4 key in force past its age limit (HJ 212-2025: rotated every 90 days) (warning).
    case feedKey = "feed_key"
}

/// How urgent an alert is; ordered info < warning < critical.
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case info, warning, critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// Where an alert is in its life: open → acknowledged → resolved (by hand, or when the condition clears).
public enum AlertStatus: String, Codable, Sendable, CaseIterable {
    case open, acknowledged, resolved
}

/// A figure in an alert's evidence.
public enum EvidenceValue: Hashable, Sendable, Codable {
    case text(String)
    case number(Double)
    case integer(Int64)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else {
            self = .text(try c.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .number(let d): try c.encode((d * 1000).rounded() / 1000)
        case .integer(let i): try c.encode(i)
        }
    }
}

/// The figures behind an alert, by name.
public typealias Evidence = [String: EvidenceValue]

/// A detector's finding that a condition holds. Alerts are keyed by ``fingerprint``
/// (rule + station + subject): raising an open fingerprint again updates it instead of adding one.
public struct AlertSignal: Hashable, Sendable, Codable {
    public var rule: AlertRule
    public var station: String
    /// The tank, nozzle, grade or feed the alert is about.
    public var subject: String
    public var severity: Severity
    /// Data time of the record that established the condition.
    public var openedAt: Timestamp
    public var evidence: Evidence
    /// Ledger chain positions of the evidence.
    public var seqFrom: Int64
    public var seqTo: Int64

    public init(
        rule: AlertRule, station: String, subject: String, severity: Severity, openedAt: Timestamp,
        evidence: Evidence, seqFrom: Int64, seqTo: Int64
    ) {
        self.rule = rule
        self.station = station
        self.subject = subject
        self.severity = severity
        self.openedAt = openedAt
        self.evidence = evidence
        self.seqFrom = seqFrom
        self.seqTo = seqTo
    }

    public var fingerprint: String { AlertSignal.fingerprint(rule: rule, station: station, subject: subject) }

    /// The key an alert is deduplicated on: `rule/station/subject`.
    public static func fingerprint(rule: AlertRule, station: String, subject: String) -> String {
        "\(rule.rawValue)/\(station)/\(subject)"
    }
}

/// What detection asks the alert store to do.
public enum DetectorEvent: Hashable, Sendable {
    /// The condition holds: open the alert, or update the open one with this fingerprint.
    case raise(AlertSignal)
    /// The condition cleared at this data time: resolve the open alert with this fingerprint.
    case clear(fingerprint: String, at: Timestamp, reason: String)
    /// A figure measured on a station day (no alert): kept for the console's charts.
    case measured(DailyFigure)
}
