import Configuration
import Foundation
import FuelWire

/// Builds a ``FuelwardenConfig`` from flags, environment and file with swift-configuration, reading
/// exactly the keys of ``ConfigTable``.
public enum ConfigLoader {
    /// - Parameters:
    ///   - file: configuration file path (`--config` or `FUELWARDEN_CONFIG`); a missing file is an error.
    ///   - overrides: values from command-line flags, by key.
    public static func load(
        file: String?, overrides: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> FuelwardenConfig {
        let secretKeys = Set(ConfigTable.settings.filter(\.secret).map(\.key))
        let secretVariables = Set(ConfigTable.settings.filter(\.secret).map(\.environmentVariable))
        var providers: [any ConfigProvider] = []
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (k, v) in overrides {
            flagValues[AbsoluteConfigKey(k.split(separator: ".").map(String.init))] = .init(.string(v), isSecret: secretKeys.contains(k))
        }
        providers.append(InMemoryProvider(name: "flags", values: flagValues))
        // `http.port` is read as FUELWARDEN_HTTP_PORT: the provider maps keys to variable names, the
        // prefix is added by key mapping.
        providers.append(EnvironmentVariablesProvider(
            environmentVariables: environment,
            secretsSpecifier: .dynamic { name, _ in secretVariables.contains(name.uppercased()) }
        ).prefixKeys(with: "fuelwarden"))
        if let path = file ?? environment["FUELWARDEN_CONFIG"] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigurationError(key: "config", message: "file \(path) does not exist")
            }
            providers.append(try fileProvider(path))
        }
        return try resolve(ConfigReader(providers: providers))
    }

    /// The configuration file as a provider: its mappings flattened to dotted keys, each scalar's text
    /// a value. Composed by FuelWire's YAML reader (libyaml) rather than swift-configuration's YAML
    /// snapshot: that one needs the package's YAML trait, which brings Yams and the full Foundation
    /// into every binary that links swift-configuration — the station agent too, through
    /// AsyncHTTPClient (issue 16).
    static func fileProvider(_ path: String) throws -> InMemoryProvider {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(key: "config", message: "cannot read \(path): \(error)")
        }
        let root: YAMLNode?
        do {
            root = try YAMLNode.compose(text)
        } catch {
            throw ConfigurationError(key: "config", message: "cannot read \(path): not valid YAML: \(error)")
        }
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        func flatten(_ node: YAMLNode, _ key: [String]) throws {
            switch node {
            case .mapping(let pairs):
                for pair in pairs {
                    guard let k = pair.key.string, !k.isEmpty else {
                        throw ConfigurationError(key: key.joined(separator: "."), message: "\(path): keys must be single words")
                    }
                    try flatten(pair.value, key + [k])
                }
            case .scalar(let s):
                guard !key.isEmpty else { throw ConfigurationError(key: "config", message: "\(path) holds a single value, not a mapping of settings") }
                if s.isPlain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return }
                values[AbsoluteConfigKey(key)] = ConfigValue(.string(s.string), isSecret: false)
            case .sequence:
                throw ConfigurationError(key: key.joined(separator: "."), message: "\(path): expected a single value, not a list")
            }
        }
        if let root { try flatten(root, []) }
        return InMemoryProvider(name: path, values: values)
    }

    /// Every key of the table read as text and parsed by its setting, so a bad value is an error
    /// naming the key instead of a silent fall-back to the default.
    static func resolve(_ reader: ConfigReader) throws -> FuelwardenConfig {
        var config = FuelwardenConfig()
        for setting in ConfigTable.settings {
            guard let raw = reader.string(forKey: ConfigKey(setting.key), isSecret: setting.secret) else { continue }
            let text = raw.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            try setting.apply(&config, text)
        }
        for check in ConfigTable.crossChecks { try check(config) }
        return config
    }
}
