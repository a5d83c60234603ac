import Configuration
import Foundation
import SystemPackage

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
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ConfigurationError(key: "config", message: "cannot read \(path): \(error)")
            }
        }
        return try resolve(ConfigReader(providers: providers))
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
