import FuelLedger
import FuelAsync
import FuelModel
import Logging

/// One configuration key: its dotted name, what it means, its default (read from a default
/// ``FuelwardenConfig``) and how its text becomes the typed value. ``ConfigTable`` lists them all;
/// the loader, the example file and its test are made from that list, so a key exists in all three
/// or in none.
public struct ConfigSetting {
    /// Dotted key as in the file (`http.idle_timeout_seconds`); the environment variable is
    /// `FUELWARDEN_` + the key upper-cased with underscores.
    public let key: String
    /// What it means, a line each, for the example file.
    public let help: [String]
    /// Redacted in swift-configuration's access logs and never printed.
    public let secret: Bool
    /// For a key without a default: the value the example file shows (commented out unless `shown`).
    let example: String?
    let shown: Bool
    /// The value's text in `config`, nil when unset.
    let text: (FuelwardenConfig) -> String?
    /// Parses `text` into `config`, or throws an error naming the key and what was expected.
    let apply: (inout FuelwardenConfig, String) throws -> Void

    /// The environment variable that sets this key.
    public var environmentVariable: String {
        "FUELWARDEN_" + key.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    /// The default as the example file writes it; nil when the key has none.
    public var defaultText: String? { text(FuelwardenConfig()) }

    /// This key's value in `config`, written as the example file writes values; nil when unset.
    public func value(in config: FuelwardenConfig) -> String? { text(config) }

}

extension ConfigSetting {
    static func integer(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Int>, _ range: ClosedRange<Int>, _ help: String...) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false, text: { "\($0[keyPath: path])" }) { config, text in
            guard let i = Int(text), range.contains(i) else {
                throw ConfigurationError(key: key, message: "expected an integer in \(range.lowerBound)…\(range.upperBound), got \"\(text)\"")
            }
            config[keyPath: path] = i
        }
    }

    static func number(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Double>, _ range: ClosedRange<Double>, _ help: String...) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false, text: { ConfigText.number($0[keyPath: path]) }) { config, text in
            config[keyPath: path] = try parseNumber(key, text, range)
        }
    }

    /// A number kept in a dictionary entry (`inspection.alert_deadline_hours.critical`).
    static func number(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Double?>, _ range: ClosedRange<Double>, _ help: String...) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false, text: { $0[keyPath: path].map(ConfigText.number) }) { config, text in
            config[keyPath: path] = try parseNumber(key, text, range)
        }
    }

    /// A duration written in seconds (`*_seconds` keys).
    static func seconds(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Duration>, _ range: ClosedRange<Double>, _ help: String...) -> Self {
        duration(key, path, range, unit: 1, help)
    }

    /// A duration written in milliseconds (`*_ms` keys).
    static func milliseconds(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Duration>, _ range: ClosedRange<Double>, _ help: String...) -> Self {
        duration(key, path, range, unit: 0.001, help)
    }

    /// A duration written in minutes (`*_minutes` keys).
    static func minutes(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Duration>, _ range: ClosedRange<Double>, _ help: String...) -> Self {
        duration(key, path, range, unit: 60, help)
    }

    /// A duration written in hours (`*_hours` keys).
    static func hours(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Duration>, _ range: ClosedRange<Double>, _ help: String...) -> Self {
        duration(key, path, range, unit: 3600, help)
    }

    /// A duration written in days (`*_days` keys).
    static func days(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Duration>, _ range: ClosedRange<Double>, _ help: String...) -> Self {
        duration(key, path, range, unit: 86_400, help)
    }

    private static func duration(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Duration>, _ range: ClosedRange<Double>,
                                 unit: Double, _ help: [String]) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false,
             text: { ConfigText.number($0[keyPath: path].inSeconds / unit) }) { config, text in
            config[keyPath: path] = .microseconds(Int64((try parseNumber(key, text, range) * unit * 1_000_000).rounded()))
        }
    }

    static func flag(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, Bool>, _ help: String...) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false, text: { "\($0[keyPath: path])" }) { config, text in
            switch text.lowercased() {
            case "true", "yes", "1", "on": config[keyPath: path] = true
            case "false", "no", "0", "off": config[keyPath: path] = false
            default: throw ConfigurationError(key: key, message: "expected true or false, got \"\(text)\"")
            }
        }
    }

    static func text(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, String>, _ help: String...) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false, text: { ConfigText.scalar($0[keyPath: path]) }) { config, text in
            config[keyPath: path] = text
        }
    }

    /// A key without a default. `example` is what the example file shows: commented out, or as the
    /// value when `shown` (the database URL every deployment sets).
    static func optional(_ key: String, _ path: WritableKeyPath<FuelwardenConfig, String?>, secret: Bool = false,
                         example: String, shown: Bool = false, _ help: String...) -> Self {
        Self(key: key, help: help, secret: secret, example: example, shown: shown, text: { $0[keyPath: path].map(ConfigText.scalar) }) { config, text in
            config[keyPath: path] = text
        }
    }

    static func ledgerSuite(_ key: String, _ help: String...) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false, text: { $0.ledger.suite.rawValue }) { config, text in
            guard let suite = LedgerSuite(rawValue: text.lowercased()) else {
                throw ConfigurationError(key: key, message: "expected one of \(LedgerSuite.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            config.ledger.suite = suite
        }
    }

    static func logLevel(_ key: String, _ help: String...) -> Self {
        Self(key: key, help: help, secret: false, example: nil, shown: false, text: { $0.logLevel.rawValue }) { config, text in
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigurationError(key: key, message: "expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            config.logLevel = level
        }
    }

    private static func parseNumber(_ key: String, _ text: String, _ range: ClosedRange<Double>) throws -> Double {
        guard let d = Double(text), d.isFinite, range.contains(d) else {
            throw ConfigurationError(key: key, message: "expected a number in \(ConfigText.number(range.lowerBound))…\(ConfigText.number(range.upperBound)), got \"\(text)\"")
        }
        return d
    }
}

/// How values are written in the example file.
enum ConfigText {
    /// Whole numbers without a fraction (`30`, not `30.0`); others as JSON writes them.
    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return JSONText.number(d)
    }

    /// A YAML scalar, quoted when plain YAML would read it as something else.
    static func scalar(_ s: String) -> String {
        let plain = !s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber || "._/-@:+".contains($0) }
            && !s.hasSuffix(":") && !s.contains(": ") && Double(s) == nil && !["true", "false", "yes", "no", "on", "off", "null", "~"].contains(s.lowercased())
        guard !plain else { return s }
        return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
