import Foundation
import FuelDetect
import FuelEvaluate

/// `fuelwarden bench state`: what a station's detector state costs to store — its size, the time to
/// encode and decode it as the daemon does (JSON, once per detection pass that committed), and where
/// its bytes are, by rule and, for the tank balance, by field — so the next step on issue 19's
/// "state JSON encoding" share of the daemon is chosen by figures.
///
/// Each profile's station is ``SimulatedStationState``'s: the demo registry's first, simulated for `days`.
package struct StateBenchmark: Sendable {
    package var profiles = ["fine-1m", "fine-5m", "mm-15m", "mm-15m-24h"]
    package var days = 16.0
    package var seed: UInt64 = 9
    /// Encodes and decodes timed per profile (the median is printed).
    package var rounds = 200
    /// The detectors' settings (the configuration's `detect.*`).
    package var thresholds = DetectionThresholds()
    /// A directory to write each profile's state to (`<profile>.json`), to read what the bytes are.
    package var jsonDirectory: String?
    let print: @Sendable (String) -> Void

    package init(print: @escaping @Sendable (String) -> Void = { Swift.print($0) }) {
        self.print = print
    }

    package struct Row: Sendable {
        package var profile: String
        package var bytes: Int
        package var encodeMicroseconds: Double
        package var decodeMicroseconds: Double
        /// Bytes of the JSON by part (`rule` or `balance.tanks.field`), largest first.
        package var parts: [(part: String, bytes: Int)]
    }

    package func run() throws -> [Row] {
        print("profile               bytes   encode µs  decode µs   largest parts (bytes)")
        var rows: [Row] = []
        for name in profiles {
            let detector = try SimulatedStationState.detector(gauge: name, days: days, seed: seed, thresholds: thresholds)
            let encoder = JSONEncoder(), decoder = JSONDecoder()
            let data = try encoder.encode(detector)
            if let dir = jsonDirectory {
                let file = name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
                try data.write(to: URL(fileURLWithPath: dir).appendingPathComponent(String(file) + ".json"))
            }
            var encodes: [Double] = [], decodes: [Double] = []
            for _ in 0..<max(1, rounds) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let again = try encoder.encode(detector)
                let t1 = DispatchTime.now().uptimeNanoseconds
                _ = try decoder.decode(StationDetector.self, from: again)
                let t2 = DispatchTime.now().uptimeNanoseconds
                encodes.append(Double(t1 - t0) / 1000)
                decodes.append(Double(t2 - t1) / 1000)
            }
            let parts = try Self.parts(of: data)
            let row = Row(profile: name, bytes: data.count, encodeMicroseconds: Self.median(encodes), decodeMicroseconds: Self.median(decodes), parts: parts)
            rows.append(row)
            let top = parts.prefix(8).map { "\($0.part) \($0.bytes)" }.joined(separator: ", ")
            print(name.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: " %7d %10.0f %10.0f   ", row.bytes, row.encodeMicroseconds, row.decodeMicroseconds) + top)
        }
        return rows
    }

    /// The JSON's bytes by top-level key, with the tank balance's and the trackers' tanks split by field
    /// (summed over the tanks): where a state's size and encoding time are.
    static func parts(of data: Data) throws -> [(part: String, bytes: Int)] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        var sizes: [String: Int] = [:]
        for (key, value) in object {
            guard let rule = value as? [String: Any], let tanks = rule["tanks"] as? [String: Any],
                  tanks.values.allSatisfy({ $0 is [String: Any] }) else {
                sizes[key, default: 0] += try size(value)
                continue
            }
            for (field, v) in rule where field != "tanks" { sizes["\(key).\(field)", default: 0] += try size(v) }
            for case let tank as [String: Any] in tanks.values {
                for (field, v) in tank {
                    // A tank's own parts (the inventory-variance method's state) by their fields too.
                    if let inner = v as? [String: Any] {
                        for (sub, w) in inner { sizes["\(key).tanks.\(field).\(sub)", default: 0] += try size(w) }
                    } else {
                        sizes["\(key).tanks.\(field)", default: 0] += try size(v)
                    }
                }
            }
        }
        return sizes.map { (part: $0.key, bytes: $0.value) }.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.part < $1.part }
    }

    static func size(_ value: Any) throws -> Int {
        guard JSONSerialization.isValidJSONObject([value]) else { return 0 }
        return try JSONSerialization.data(withJSONObject: [value]).count - 2
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
