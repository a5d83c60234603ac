import Foundation
import FuelSim

/// One injected fault as a JSON line of the ground-truth file: station, kind, expected rule and
/// subject, start, and the fault's parameters.
package enum GroundTruthLine {
    package static func json(station: String, fault: InjectedFault) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let parameters = (try? encoder.encode(fault)).flatMap { String(data: $0, encoding: .utf8) } ?? "null"
        let head = ["station": station, "kind": fault.kind, "expected_rule": fault.expectedRule, "subject": fault.subject,
                    "start": fault.start.rfc3339]
        let fields = head.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        return "{\(fields),\"fault\":\(parameters)}"
    }

    struct Line: Decodable {
        var station: String
        var fault: InjectedFault
    }

    /// Reads a ground-truth file (the format `json` writes): faults by station. Errors name the line.
    package static func decodeFile(_ text: String) throws -> [String: [InjectedFault]] {
        var out: [String: [InjectedFault]] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                let l = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
                out[l.station, default: []].append(l.fault)
            } catch {
                throw GroundTruthError(line: i + 1, message: "\(error)")
            }
        }
        return out
    }
}

package struct GroundTruthError: Error, CustomStringConvertible {
    package var line: Int
    package var message: String
    package var description: String { "faults file line \(line): \(message)" }
}
