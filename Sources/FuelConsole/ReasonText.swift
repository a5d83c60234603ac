import FuelModel

/// A reason code said in a catalogue's language: `reason_<key>` with each `{name}` replaced by its
/// value, kinds (`licence`, `approval`, `severity`, `rule`) by the catalogue's own name for them.
/// A code without a catalogue entry falls back to the English sentence beside it.
enum ReasonText {
    static let kindPrefixes = ["licence": "licence_", "approval": "approval_", "severity": "severity_", "rule": "rule_"]

    static func say(_ code: ReasonCode?, fallback: String, _ t: [String: String]) -> String {
        guard let code, var text = t["reason_\(code.key)"] else { return fallback }
        for (name, value) in code.params {
            let shown = kindPrefixes[name].flatMap { t[$0 + value] } ?? value
            text = text.replacingOccurrences(of: "{\(name)}", with: shown)
        }
        return text
    }
}
