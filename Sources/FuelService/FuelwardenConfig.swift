import Crypto
import Configuration
import FuelDetect
import FuelModel
import FuelStore
import FuelWire
import Foundation
import Logging
import SystemPackage

/// Everything the daemon reads from configuration. Keys are documented in
/// `config/fuelwarden.example.yaml`; each key `a.b_c` is also `FUELWARDEN_A_B_C` in the
/// environment and, for the common ones, a command-line flag. Precedence: flags, environment,
/// file, built-in defaults.
public struct FuelwardenConfig: Sendable {
    public var databaseURL: String?
    public var databaseMaxConnections = 20
    public var databaseRequestDeadlineSeconds = 5.0
    public var httpHost = "127.0.0.1"
    public var httpPort = 8080
    /// A connection that sends nothing (no request, no body bytes) for this long is closed: slow
    /// senders cannot hold connections open.
    public var httpIdleTimeoutSeconds = 30.0
    /// Open connections at most; past it new ones wait in the listen backlog.
    public var httpMaxConnections = 10_000
    /// A push body must arrive whole within this time (408 otherwise).
    public var ingestBodyTimeoutSeconds = 30.0
    public var ingestMaxBodyBytes = 8 * 1024 * 1024
    public var ingestMaxLines = 20_000
    public var authCacheSeconds = 30.0
    public var registryRefreshSeconds = 30.0
    public var detectEnabled = true
    public var detectIntervalSeconds = 1.0
    public var detectBatchSize = 5_000
    /// Minutes without any record (wall clock) before a station's feed is flagged stale.
    public var staleFeedMinutes = 15.0
    public var thresholds = DetectionThresholds()
    public var logLevel: Logger.Level = .info
    /// The feeds file (ATG consoles, HJ 212 devices); nil = no device feeds.
    public var feedsFile: String?
    public var hj212Enabled = false
    public var hj212 = HJ212ListenerSettings()
    public var atg = ATGPollerSettings()
    /// Ed25519 private key (base64 of the 32 raw bytes) that signs checkpoints; nil = no checkpoints.
    public var checkpointSigningKey: String?
    public var checkpointIntervalSeconds = 300.0
    /// Names this deployment in every signed checkpoint.
    public var checkpointOrigin = "fuelwarden"
    /// Directory for complete history-export chunks (files); nil = every export reads PostgreSQL.
    public var historyCacheDir: String?
    /// Size limit of that directory; the least recently used chunks go first.
    public var historyCacheMaxMB = 10_240
    public var notify = NotifySettings()
    public var inspection = InspectionSettings()

    public init() {}

    /// The database URL, or an error naming the three ways to give it.
    public func requireDatabaseURL() throws -> DatabaseURL {
        guard let text = databaseURL, !text.isEmpty else {
            throw ConfigurationError(key: "database.url", message: "is not set (config file database.url, FUELWARDEN_DATABASE_URL, or --database-url)")
        }
        do {
            return try DatabaseURL(text)
        } catch {
            throw ConfigurationError(key: "database.url", message: "\(error)")
        }
    }
}

extension FuelwardenConfig {
    /// The checkpoint signing key, or nil when none is configured.
    public func checkpointKey() throws -> Curve25519.Signing.PrivateKey? {
        guard let text = checkpointSigningKey else { return nil }
        let raw: String
        if text.hasPrefix("/") || text.hasPrefix(".") {
            guard let file = try? String(contentsOfFile: text, encoding: .utf8) else {
                throw ConfigurationError(key: "checkpoint.signing_key", message: "cannot read \(text)")
            }
            raw = file.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            raw = text
        }
        guard let bytes = Data(base64Encoded: raw), bytes.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            throw ConfigurationError(key: "checkpoint.signing_key",
                                     message: "expected the base64 of a 32-byte Ed25519 private key (or a file holding it); make one with `fuelwarden checkpoint keygen`")
        }
        return key
    }

    /// The feeds file, read and checked; errors name the file, the entry and the field.
    public func loadFeeds() throws -> FeedsFile {
        guard let path = feedsFile else { return FeedsFile() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(key: "feeds.file", message: "cannot read \(path)")
        }
        do {
            return try FeedsFileDecoder.decode(yaml: text)
        } catch {
            throw ConfigurationError(key: "feeds.file", message: "\(path): \(error)")
        }
    }
}

/// A configuration value that cannot be used; startup stops with this message.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var message: String
    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "configuration \(key): \(message)" }
}

/// Builds a ``FuelwardenConfig`` from flags, environment and file with swift-configuration.
public enum ConfigLoader {
    /// Environment variables with the `FUELWARDEN_` prefix, as keys without it.
    static func prefixedEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in env where k.hasPrefix("FUELWARDEN_") && k != "FUELWARDEN_CONFIG" {
            out[String(k.dropFirst("FUELWARDEN_".count))] = v
        }
        return out
    }

    /// - Parameters:
    ///   - file: configuration file path (`--config` or `FUELWARDEN_CONFIG`); a missing file is an error
    ///     only when the path was given explicitly.
    ///   - overrides: values from command-line flags, by key.
    public static func load(
        file: String?, overrides: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> FuelwardenConfig {
        var providers: [any ConfigProvider] = []
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (k, v) in overrides { flagValues[AbsoluteConfigKey(k.split(separator: ".").map(String.init))] = .init(.string(v), isSecret: k.contains("url")) }
        providers.append(InMemoryProvider(name: "flags", values: flagValues))
        providers.append(EnvironmentVariablesProvider(environmentVariables: prefixedEnvironment(environment),
                                                      secretsSpecifier: .dynamic { k, _ in k.contains("URL") }))
        let path = file ?? environment["FUELWARDEN_CONFIG"]
        if let path {
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

    static func resolve(_ r: ConfigReader) throws -> FuelwardenConfig {
        var c = FuelwardenConfig()
        let v = Values(reader: r)
        c.databaseURL = v.string("database.url", secret: true)
        c.databaseMaxConnections = try v.int("database.max_connections", c.databaseMaxConnections, 1...500)
        c.databaseRequestDeadlineSeconds = try v.double("database.request_deadline_seconds", c.databaseRequestDeadlineSeconds, 0.1...120)
        c.httpHost = v.string("http.host") ?? c.httpHost
        c.httpPort = try v.int("http.port", c.httpPort, 0...65535)
        c.httpIdleTimeoutSeconds = try v.double("http.idle_timeout_seconds", c.httpIdleTimeoutSeconds, 0.5...3600)
        c.httpMaxConnections = try v.int("http.max_connections", c.httpMaxConnections, 1...1_000_000)
        c.ingestBodyTimeoutSeconds = try v.double("ingest.body_timeout_seconds", c.ingestBodyTimeoutSeconds, 0.5...3600)
        c.ingestMaxBodyBytes = try v.int("ingest.max_body_bytes", c.ingestMaxBodyBytes, 1024...(256 * 1024 * 1024))
        c.ingestMaxLines = try v.int("ingest.max_lines", c.ingestMaxLines, 1...1_000_000)
        c.authCacheSeconds = try v.double("auth.cache_seconds", c.authCacheSeconds, 0...3600)
        c.registryRefreshSeconds = try v.double("registry.refresh_seconds", c.registryRefreshSeconds, 1...86_400)
        c.detectEnabled = try v.bool("detect.enabled", c.detectEnabled)
        c.detectIntervalSeconds = try v.double("detect.interval_seconds", c.detectIntervalSeconds, 0.05...3600)
        c.detectBatchSize = try v.int("detect.batch_size", c.detectBatchSize, 1...1_000_000)
        c.checkpointSigningKey = v.string("checkpoint.signing_key", secret: true)
        c.checkpointIntervalSeconds = try v.double("checkpoint.interval_seconds", c.checkpointIntervalSeconds, 1...86_400)
        c.checkpointOrigin = v.string("checkpoint.origin") ?? c.checkpointOrigin
        c.historyCacheDir = v.string("history.cache_dir")
        c.historyCacheMaxMB = try v.int("history.cache_max_mb", c.historyCacheMaxMB, 1...100_000_000)
        c.notify.webhooks["department:emergency_management"] = v.string("notify.emergency_management_url", secret: true)
        c.notify.webhooks["department:market_supervision"] = v.string("notify.market_supervision_url", secret: true)
        c.notify.webhooks["city:"] = v.string("notify.city_contacts_url", secret: true)
        c.notify.secret = v.string("notify.secret", secret: true)
        c.notify.intervalSeconds = try v.double("notify.interval_seconds", c.notify.intervalSeconds, 0.05...3600)
        c.notify.retryBaseSeconds = try v.double("notify.retry_base_seconds", c.notify.retryBaseSeconds, 0.01...86_400)
        c.notify.maxAttempts = try v.int("notify.max_attempts", c.notify.maxAttempts, 1...1000)
        c.notify.timeoutSeconds = try v.double("notify.timeout_seconds", c.notify.timeoutSeconds, 0.1...600)
        c.inspection.expiryWarningDays = try v.int("inspection.expiry_warning_days", c.inspection.expiryWarningDays, 0...3650)
        c.inspection.minimumDataCoverage = try v.double("inspection.min_data_coverage", c.inspection.minimumDataCoverage, 0...1)
        c.inspection.intervalDays = try v.int("inspection.interval_days", c.inspection.intervalDays, 1...3650)
        c.inspection.silentDays = try v.int("inspection.silent_days", c.inspection.silentDays, 1...3650)
        c.inspection.alertDeadlineHours["critical"] = try v.double("inspection.alert_deadline_hours.critical", 24, 0.1...100_000)
        c.inspection.alertDeadlineHours["warning"] = try v.double("inspection.alert_deadline_hours.warning", 168, 0.1...100_000)
        c.inspection.alertDeadlineHours["info"] = try v.double("inspection.alert_deadline_hours.info", 720, 0.1...100_000)
        c.staleFeedMinutes = try v.double("detect.telemetry.stale_feed_minutes", c.staleFeedMinutes, 0.01...100_000)
        var t = DetectionThresholds()
        t.reconciliationPercent = try v.double("detect.reconciliation.percent", t.reconciliationPercent, 0...100)
        t.reconciliationFixedL = try v.double("detect.reconciliation.fixed_l", t.reconciliationFixedL, 0...100_000)
        t.riseStepL = try v.double("detect.undeclared_delivery.rise_step_l", t.riseStepL, 0...10_000)
        t.undeclaredMinL = try v.double("detect.undeclared_delivery.min_l", t.undeclaredMinL, 1...100_000)
        t.deliveryMatchMinutes = try v.double("detect.undeclared_delivery.match_minutes", t.deliveryMatchMinutes, 0...1440)
        t.undeclaredGraceMinutes = try v.double("detect.undeclared_delivery.grace_minutes", t.undeclaredGraceMinutes, 0...1440)
        t.deliveryTolerancePercent = try v.double("detect.delivery.tolerance_percent", t.deliveryTolerancePercent, 0...100)
        t.deliveryToleranceL = try v.double("detect.delivery.tolerance_l", t.deliveryToleranceL, 0...100_000)
        t.flowTolerancePercent = try v.double("detect.impossible_sale.flow_tolerance_percent", t.flowTolerancePercent, 0...100)
        t.priceToleranceYuan = try v.double("detect.price.tolerance_yuan", t.priceToleranceYuan, 0...10)
        t.seqGapGraceSeconds = try v.double("detect.seq_gap.grace_seconds", t.seqGapGraceSeconds, 0...604_800)
        t.waterMaxMM = try v.double("detect.tank_safety.water_max_mm", t.waterMaxMM, 0...10_000)
        t.overfillPercent = try v.double("detect.tank_safety.overfill_percent", t.overfillPercent, 1...200)
        t.overCapacityPercent = try v.double("detect.tank_safety.over_capacity_percent", t.overCapacityPercent, 1...200)
        t.totalizerToleranceL = try v.double("detect.totalizer.tolerance_l", t.totalizerToleranceL, 0...1000)
        t.readingGapMinutes = try v.double("detect.telemetry.reading_gap_minutes", t.readingGapMinutes, 1...100_000)
        t.reconciliationDeliveryPercent = try v.double("detect.reconciliation.delivery_percent", t.reconciliationDeliveryPercent, 0...100)
        t.cumulativePercent = try v.double("detect.reconciliation.cumulative_percent", t.cumulativePercent, 0...100)
        t.cumulativeFixedL = try v.double("detect.reconciliation.cumulative_fixed_l", t.cumulativeFixedL, 0...1_000_000)
        t.cumulativeDays = try v.int("detect.reconciliation.cumulative_days", t.cumulativeDays, 1...366)
        t.clockAheadSeconds = try v.double("detect.telemetry.clock_ahead_seconds", t.clockAheadSeconds, 1...86_400)
        t.afterHoursGraceMinutes = try v.double("detect.after_hours.grace_minutes", t.afterHoursGraceMinutes, 0...720)
        t.segmentMinutes = try v.double("detect.tank_balance.segment_minutes", t.segmentMinutes, 1...1440)
        t.quietMinutes = try v.double("detect.tank_balance.quiet_minutes", t.quietMinutes, 0...120)
        t.settleMinutes = try v.double("detect.tank_balance.settle_minutes", t.settleMinutes, 0...1440)
        t.leakTargetLPH = try v.double("detect.leak.target_l_per_h", t.leakTargetLPH, 0.01...1000)
        t.leakThresholdLPH = try v.double("detect.leak.threshold_l_per_h", t.leakThresholdLPH, 0.01...1000)
        t.leakZ = try v.double("detect.leak.z", t.leakZ, 0.5...10)
        t.leakWindowDays = try v.int("detect.leak.window_days", t.leakWindowDays, 1...90)
        t.leakMinHours = try v.double("detect.leak.min_hours", t.leakMinHours, 1...2160)
        t.meterWindowDays = try v.int("detect.meter.window_days", t.meterWindowDays, 1...90)
        t.meterFlagPercent = try v.double("detect.meter.flag_percent", t.meterFlagPercent, 0.01...100)
        t.meterLegalPercent = try v.double("detect.meter.legal_percent", t.meterLegalPercent, 0...100)
        t.meterZ = try v.double("detect.meter.z", t.meterZ, 0.5...10)
        t.stockGainPercent = try v.double("detect.stock_gain.percent", t.stockGainPercent, 0.01...100)
        t.stockGainDays = try v.int("detect.stock_gain.window_days", t.stockGainDays, 1...90)
        t.alMin = try v.double("detect.vapour.al_min", t.alMin, 0...10)
        t.alMax = try v.double("detect.vapour.al_max", t.alMax, 0...10)
        t.alMinFillL = try v.double("detect.vapour.min_fill_l", t.alMinFillL, 0...10_000)
        t.alMinFills = try v.int("detect.vapour.min_fills", t.alMinFills, 1...100_000)
        t.alGoodShare = try v.double("detect.vapour.good_share", t.alGoodShare, 0...1)
        t.alWarningDays = try v.int("detect.vapour.warning_days", t.alWarningDays, 1...366)
        t.pressureMinPa = try v.double("detect.vapour.pressure_min_pa", t.pressureMinPa, -100_000...100_000)
        t.pressureMaxPa = try v.double("detect.vapour.pressure_max_pa", t.pressureMaxPa, -100_000...100_000)
        t.pressureBadShare = try v.double("detect.vapour.pressure_bad_share", t.pressureBadShare, 0...1)
        t.pressureBadDays = try v.int("detect.vapour.pressure_bad_days", t.pressureBadDays, 1...366)
        t.regularMaxSD = try v.double("detect.falsified.al_min_sd", t.regularMaxSD, 0...10)
        t.regularMinFills = try v.int("detect.falsified.min_fills", t.regularMinFills, 2...100_000)
        guard t.alMin < t.alMax else { throw ConfigurationError(key: "detect.vapour.al_min", message: "must be below detect.vapour.al_max") }
        guard t.leakThresholdLPH <= t.leakTargetLPH else {
            throw ConfigurationError(key: "detect.leak.threshold_l_per_h", message: "must not exceed detect.leak.target_l_per_h")
        }
        c.thresholds = t
        c.feedsFile = v.string("feeds.file")
        c.hj212Enabled = try v.bool("feeds.hj212.enabled", c.hj212Enabled)
        c.hj212.host = v.string("feeds.hj212.host") ?? c.hj212.host
        c.hj212.port = try v.int("feeds.hj212.port", c.hj212.port, 0...65535)
        c.hj212.maxConnections = try v.int("feeds.hj212.max_connections", c.hj212.maxConnections, 1...100_000)
        c.hj212.idleTimeoutSeconds = try v.double("feeds.hj212.idle_timeout_seconds", c.hj212.idleTimeoutSeconds, 1...86_400)
        c.hj212.packetTimeoutSeconds = try v.double("feeds.hj212.packet_timeout_seconds", c.hj212.packetTimeoutSeconds, 0.1...3600)
        c.hj212.maxJunkBytes = try v.int("feeds.hj212.max_junk_bytes", c.hj212.maxJunkBytes, 0...(64 * 1024 * 1024))
        c.atg.timeoutSeconds = try v.double("feeds.atg.timeout_seconds", c.atg.timeoutSeconds, 0.1...600)
        c.atg.offlineAfterFailures = try v.int("feeds.atg.offline_after_failures", c.atg.offlineAfterFailures, 1...1000)
        c.atg.maxBackoffSeconds = try v.double("feeds.atg.max_backoff_seconds", c.atg.maxBackoffSeconds, 1...86_400)
        c.atg.maxClockSkewSeconds = try v.double("feeds.atg.max_clock_skew_seconds", c.atg.maxClockSkewSeconds, 0...86_400)
        if let level = v.string("log.level") {
            guard let l = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(key: "log.level", message: "expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(level)\"")
            }
            c.logLevel = l
        }
        return c
    }

    /// Reads every key as text and parses it here, so a bad value is an error naming the key
    /// instead of a silent fall-back to the default.
    struct Values {
        var reader: ConfigReader

        func string(_ key: String, secret: Bool = false) -> String? {
            guard let s = reader.string(forKey: ConfigKey(key), isSecret: secret) else { return nil }
            let t = s.trimmingCharacters(in: .whitespaces)
            return t.isEmpty ? nil : t
        }

        func int(_ key: String, _ def: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let s = string(key) else { return def }
            guard let i = Int(s), range.contains(i) else {
                throw ConfigurationError(key: key, message: "expected an integer in \(range.lowerBound)…\(range.upperBound), got \"\(s)\"")
            }
            return i
        }

        func bool(_ key: String, _ def: Bool) throws -> Bool {
            guard let s = string(key) else { return def }
            switch s.lowercased() {
            case "true", "yes", "1", "on": return true
            case "false", "no", "0", "off": return false
            default: throw ConfigurationError(key: key, message: "expected true or false, got \"\(s)\"")
            }
        }

        func double(_ key: String, _ def: Double, _ range: ClosedRange<Double>) throws -> Double {
            guard let s = string(key) else { return def }
            guard let d = Double(s), d.isFinite, range.contains(d) else {
                throw ConfigurationError(key: key, message: "expected a number in \(JSONText.number(range.lowerBound))…\(JSONText.number(range.upperBound)), got \"\(s)\"")
            }
            return d
        }
    }
}
