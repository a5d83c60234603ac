// The annual-inspection pre-check's answer (FuelDetect makes it, FuelStore records it).

/// One rule's outcome in a pre-check.
public enum InspectionOutcome: String, Sendable, Hashable, Codable, Comparable {
    case pass
    case needsAttention = "needs_attention"
    case fail

    private var rank: Int { self == .pass ? 0 : self == .needsAttention ? 1 : 2 }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// A rule checked by the pre-check, with why it came out as it did and the evidence behind it.
public struct InspectionFinding: Sendable, Hashable, Codable {
    public var rule: String
    public var outcome: InspectionOutcome
    public var reason: String
    /// The reason as a key and values for a catalogue (absent in reports recorded before it existed).
    public var code: ReasonCode?
    public var evidence: [String: EvidenceValue]

    public init(rule: String, outcome: InspectionOutcome, reason: String, code: ReasonCode? = nil, evidence: [String: EvidenceValue] = [:]) {
        self.rule = rule
        self.outcome = outcome
        self.reason = reason
        self.code = code
        self.evidence = evidence
    }

    enum CodingKeys: String, CodingKey {
        case rule, outcome, reason, code = "reason_code", evidence
    }
}

/// The pre-check's answer for one station and year: the worst outcome of its rules.
public struct InspectionReport: Sendable, Hashable, Codable {
    public var station: String
    public var year: Int
    /// The day documents are judged on: the end of the year, or today while the year runs.
    public var asOf: CivilDate
    public var verdict: InspectionOutcome
    public var findings: [InspectionFinding]

    public init(station: String, year: Int, asOf: CivilDate, verdict: InspectionOutcome, findings: [InspectionFinding]) {
        self.station = station
        self.year = year
        self.asOf = asOf
        self.verdict = verdict
        self.findings = findings
    }

    enum CodingKeys: String, CodingKey {
        case station, year, asOf = "as_of", verdict, findings
    }
}
