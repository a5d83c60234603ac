import FuelModel

/// Evidence shown in a catalogue's language: `evidence_<key>` names a figure (the key itself when
/// the catalogue has none), and text values that are kinds (`loss`, `fail`, a leak method) are named
/// by `value_<v>` or `method_<v>`.
enum EvidenceText {
    static func name(_ key: String, _ t: [String: String]) -> String { t["evidence_\(key)"] ?? key }

    static func value(_ value: EvidenceValue, _ t: [String: String]) -> String {
        switch value {
        case .text(let s): t["value_\(s)"] ?? t["method_\(s)"] ?? s
        case .number(let d): JSONText.number((d * 1000).rounded() / 1000)
        case .integer(let i): String(i)
        }
    }
}
