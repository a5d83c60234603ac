import Foundation
import FuelSim

/// One injected fault as a JSON line of the ground-truth file: station, kind, expected rule and
/// subject, start, and the fault's parameters.
public enum GroundTruthLine {
    public static func json(station: String, fault: InjectedFault) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let parameters = (try? encoder.encode(fault)).flatMap { String(data: $0, encoding: .utf8) } ?? "null"
        let head = ["station": station, "kind": fault.kind, "expected_rule": fault.expectedRule, "subject": fault.subject,
                    "start": fault.start.rfc3339]
        let fields = head.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        return "{\(fields),\"fault\":\(parameters)}"
    }
}
