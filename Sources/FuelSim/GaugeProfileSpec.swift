/// A gauge profile written as text: a profile of the matrix by name, optionally followed by
/// `:key=value` overrides, so any point of issue 13's envelope can be run without a build —
/// e.g. `mm-15m:noise=1:every=30m` (a millimetre gauge with 1 mm noise read every half hour) or
/// `tenth-15m:spikes=0.001:usage=busy`. The profile's name is the text itself.
///
/// Keys: `step` and `noise` (mm), `every` (seconds, or with `s`, `m` or `h`), `missing` (share of
/// readings lost one by one), `outages` (a day) and `outage` (minutes, `a-b`), `spikes` (share) and
/// `spike` (mm, `a-b`), `bias` (°C, probe bias within ±), `swing` (°C, the daily swing), `ticket`
/// (standard deviation of a delivery against its ticket, as a share), `usage` (`ordinary`, `busy`
/// or `rare`).
extension GaugeProfile {
    /// Why a profile's text cannot be read.
    public enum SpecError: Error, Equatable, CustomStringConvertible {
        case unknownProfile(String)
        case unknownKey(String)
        case badValue(key: String, value: String, expected: String)

        public var description: String {
            switch self {
            case .unknownProfile(let name):
                "unknown gauge profile \(name) (one of: \(GaugeProfile.matrix.map(\.name).joined(separator: ", ")))"
            case .unknownKey(let key):
                "unknown gauge profile key \(key) (one of: step, noise, every, missing, outages, outage, spikes, spike, bias, swing, ticket, usage)"
            case .badValue(let key, let value, let expected):
                "gauge profile key \(key): \(value) is not \(expected)"
            }
        }
    }

    /// The profile `text` names: `NAME` or `NAME:key=value:…` (see the type's overview).
    public static func parse(_ text: String) throws(SpecError) -> GaugeProfile {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard var profile = named(parts[0]) else { throw .unknownProfile(parts[0]) }
        profile.name = text
        for part in parts.dropFirst() {
            guard let eq = part.firstIndex(of: "=") else { throw .badValue(key: part, value: "", expected: "key=value") }
            let key = String(part[..<eq]), value = String(part[part.index(after: eq)...])
            try profile.set(key, to: value)
        }
        return profile
    }

    private mutating func set(_ key: String, to value: String) throws(SpecError) {
        switch key {
        case "step": heightStepMM = try Self.number(key, value, positive: true)
        case "noise": heightNoiseMM = try Self.number(key, value)
        case "every": readingIntervalSeconds = try Self.seconds(key, value)
        case "missing": missingShare = try Self.share(key, value)
        case "outages": outagesPerDay = try Self.number(key, value)
        case "outage": outageMinutes = try Self.range(key, value)
        case "spikes": spikeShare = try Self.share(key, value)
        case "spike": spikeMM = try Self.range(key, value)
        case "bias": probeBiasMaxC = try Self.number(key, value)
        case "swing": dailySwingC = try Self.number(key, value)
        case "ticket": declaredErrorSD = try Self.share(key, value)
        case "usage":
            switch value {
            case "ordinary": usage = .ordinary
            case "busy", "busy-24h": usage = .busyAllDay
            case "rare", "rare-nozzles": usage = .rareNozzles
            default: throw .badValue(key: key, value: value, expected: "ordinary, busy or rare")
            }
        default: throw .unknownKey(key)
        }
    }

    private static func number(_ key: String, _ value: String, positive: Bool = false) throws(SpecError) -> Double {
        guard let v = Double(value), v.isFinite, v >= 0, !positive || v > 0 else {
            throw .badValue(key: key, value: value, expected: positive ? "a number above 0" : "a number, 0 or more")
        }
        return v
    }

    private static func share(_ key: String, _ value: String) throws(SpecError) -> Double {
        let v = try number(key, value)
        guard v < 1 else { throw .badValue(key: key, value: value, expected: "a share below 1") }
        return v
    }

    private static func seconds(_ key: String, _ value: String) throws(SpecError) -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        let unit = value.last.flatMap { units[$0] }
        let figure = unit == nil ? value : String(value.dropLast())
        guard let v = Double(figure), v.isFinite, v > 0 else {
            throw .badValue(key: key, value: value, expected: "a time above 0 (seconds, or with s, m or h)")
        }
        return v * (unit ?? 1)
    }

    private static func range(_ key: String, _ value: String) throws(SpecError) -> ClosedRange<Double> {
        let ends = value.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2, let low = Double(ends[0]), let high = Double(ends[1]), low.isFinite, high.isFinite, 0 <= low, low <= high else {
            throw .badValue(key: key, value: value, expected: "a range low-high")
        }
        return low...high
    }
}
