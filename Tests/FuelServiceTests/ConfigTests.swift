import Crypto
import FuelDetect
import FuelModel
import FuelLedger
import FuelService
import FuelSim
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import PostgresNIO
import Testing

@Suite struct ConfigTests {
    static let exampleFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../config/fuelwarden.example.yaml").standardizedFileURL.path

    /// The example file is made from the table: a key missing from it (or documented differently)
    /// fails here. Regenerate with `swift run fuelwarden config example > config/fuelwarden.example.yaml`.
    @Test func exampleFileIsTheTable() throws {
        let file = try String(contentsOfFile: Self.exampleFile, encoding: .utf8)
        let made = ConfigExample.yaml()
        #expect(file == made, "config/fuelwarden.example.yaml differs from `fuelwarden config example`")
        for s in ConfigTable.settings {
            let name = String(s.key.split(separator: ".").last!)
            #expect(file.contains("\(name):"), "\(s.key) is not in the example file")
        }
        #expect(Set(ConfigTable.settings.map(\.key)).count == ConfigTable.settings.count, "a key is listed twice")
        // A section's keys stand together (YAML would otherwise open the same map twice).
        var left: Set<String> = [], current = ""
        for s in ConfigTable.settings {
            let section = s.key.split(separator: ".").dropLast().joined(separator: ".")
            if section != current {
                #expect(!left.contains(section), "\(s.key): section \(section) is opened twice")
                left.insert(current)
                current = section
            }
        }
    }

    /// Read back, the example file gives every default (and the example database URL).
    @Test func exampleFileLoadsAsTheDefaults() async throws {
        let loaded = try await ConfigLoader.load(file: Self.exampleFile, environment: [:])
        let defaults = FuelwardenConfig()
        for s in ConfigTable.settings where s.key != "database.url" {
            #expect(s.value(in: loaded) == s.value(in: defaults), "\(s.key)")
        }
        #expect(loaded.database.url == "postgres://fuelwarden:secret@127.0.0.1:5432/fuelwarden")
    }

    /// Every key is read from its environment variable: its default round-trips, and a value no
    /// number or flag can be is refused with the key's name (or kept as text by a text key).
    @Test func everyKeyIsReadFromItsEnvironmentVariable() async throws {
        for s in ConfigTable.settings {
            #expect(s.environmentVariable.hasPrefix("FUELWARDEN_") && !s.environmentVariable.contains("."))
            if let d = s.defaultText {
                let c = try await ConfigLoader.load(file: nil, environment: [s.environmentVariable: d.trimmingCharacters(in: CharacterSet(charactersIn: "\""))])
                #expect(s.value(in: c) == d, "\(s.key)")
            }
            do {
                let c = try await ConfigLoader.load(file: nil, environment: [s.environmentVariable: "x!"])
                #expect(s.value(in: c) == "\"x!\"", "\(s.key) took \"x!\" without an error")
            } catch let e as ConfigurationError {
                #expect(e.key == s.key, "\(s.key): the error names \(e.key)")
            }
        }
    }

    @Test func precedenceFlagsThenEnvironmentThenFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(UUID()).yaml").path
        try "http:\n  port: 9001\n  host: 0.0.0.0\ndatabase:\n  url: postgres://u@h/file\ndetect:\n  reconciliation:\n    percent: 2\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let env = ["FUELWARDEN_HTTP_PORT": "9002", "FUELWARDEN_DATABASE_URL": "postgres://u@h/env"]
        let c = try await ConfigLoader.load(file: path, overrides: ["http.port": "9003"], environment: env)
        #expect(c.http.port == 9003)
        #expect(c.database.url == "postgres://u@h/env")
        #expect(c.http.host == "0.0.0.0")
        #expect(c.detect.thresholds.reconciliationPercent == 2)
        let fileOnly = try await ConfigLoader.load(file: path, environment: [:])
        #expect(fileOnly.http.port == 9001 && fileOnly.database.url == "postgres://u@h/file")
    }

    /// The documented example configuration states every default the code uses, so the comments
    /// there are the reference for the rule thresholds.
    @Test func exampleConfigurationStatesTheDefaults() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/fuelwarden.example.yaml").path
        let c = try await ConfigLoader.load(file: path, environment: [:])
        #expect(c.detect.thresholds == DetectionThresholds())
        #expect(c.inspection == InspectionSettings() && c.notify == NotifySettings())
        #expect(c.history.cacheDir == nil && c.history.cacheMaxMB == FuelwardenConfig().history.cacheMaxMB)
        let routed = try await ConfigLoader.load(file: nil, environment: [
            "FUELWARDEN_NOTIFY_EMERGENCY_MANAGEMENT_URL": "http://em.example/h", "FUELWARDEN_NOTIFY_CITY_CONTACTS_URL": "http://sms.example/h",
            "FUELWARDEN_INSPECTION_ALERT_DEADLINE_HOURS_CRITICAL": "12"])
        #expect(routed.notify.url(for: "department:emergency_management") == "http://em.example/h")
        #expect(routed.notify.url(for: "city:210100:liaison") == "http://sms.example/h")
        #expect(routed.notify.url(for: "department:market_supervision") == nil)
        #expect(routed.inspection.alertDeadlineHours[.critical] == 12)
        let tuned = try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_DETECT_LEAK_THRESHOLD_L_PER_H": "0.5",
                                                                           "FUELWARDEN_DETECT_VAPOUR_WARNING_DAYS": "3"])
        #expect(tuned.detect.thresholds.leakThresholdLPH == 0.5 && tuned.detect.thresholds.alWarningDays == 3)
        await #expect { try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_DETECT_LEAK_THRESHOLD_L_PER_H": "2"]) } throws: {
            "\($0)".hasPrefix("configuration detect.leak.threshold_l_per_h: must not exceed")
        }
    }

    @Test func badValuesNameTheKey() async throws {
        await #expect { try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_HTTP_PORT": "eighty"]) } throws: {
            "\($0)" == #"configuration http.port: expected an integer in 0…65535, got "eighty""#
        }
        await #expect { try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_DETECT_RECONCILIATION_PERCENT": "-1"]) } throws: {
            "\($0)".hasPrefix("configuration detect.reconciliation.percent:")
        }
        await #expect { try await ConfigLoader.load(file: "/nonexistent.yaml", environment: [:]) } throws: {
            "\($0)".hasPrefix("configuration config: file /nonexistent.yaml does not exist")
        }
        var c = FuelwardenConfig()
        c.database.url = "mysql://x/y"
        #expect(throws: ConfigurationError.self) { try c.requireDatabaseURL() }

        // The checkpoint key: unset is off, a bad one names the key, a good one (inline or in a file) loads.
        let example = try await ConfigLoader.load(file: nil, environment: [:])
        #expect(try example.checkpointKey() == nil && example.http.idleTimeout == .seconds(30) && example.ingest.bodyTimeout == .seconds(30))
        let bad = try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_CHECKPOINT_SIGNING_KEY": "c2hvcnQ="])
        #expect { try bad.checkpointKey() } throws: { "\($0)".hasPrefix("configuration checkpoint.signing_key: not base64 of a 32-byte Ed25519 private key") }
        // A key whose base64 begins with "/" is a key, not a path.
        let slashKey = Data([0xFC] + [UInt8](repeating: 7, count: 31)).base64EncodedString()
        #expect(slashKey.hasPrefix("/"))
        let slash = try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_CHECKPOINT_SIGNING_KEY": slashKey])
        #expect(try slash.checkpointKey()?.text() == slashKey)
        let (priv, pub) = try CheckpointKeys.generate()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fw-key-\(UUID())").path
        try (priv + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        for value in [priv, file] {
            let good = try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_CHECKPOINT_SIGNING_KEY": value])
            #expect(try good.checkpointKey()?.publicKey.text() == pub)
        }
        // Under guomi: an SM2 key as PEM (inline or in a file) loads; an Ed25519 key is refused naming both suites.
        let (smPriv, smPub) = try CheckpointKeys.generate(.guomi)
        let smFile = FileManager.default.temporaryDirectory.appendingPathComponent("fw-sm2-\(UUID())").path
        try smPriv.write(toFile: smFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: smFile) }
        for value in [smPriv, smFile] {
            let good = try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_LEDGER_SUITE": "guomi", "FUELWARDEN_CHECKPOINT_SIGNING_KEY": value])
            let loaded = try good.checkpointKey()?.publicKey.text()
            #expect(good.ledger.suite == .guomi && loaded == smPub)
        }
        let mixed = try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_LEDGER_SUITE": "guomi", "FUELWARDEN_CHECKPOINT_SIGNING_KEY": priv])
        #expect { try mixed.checkpointKey() } throws: { "\($0)".contains("an Ed25519 key, but ledger.suite is guomi (SM3, SM2)") }
        await #expect { try await ConfigLoader.load(file: nil, environment: ["FUELWARDEN_LEDGER_SUITE": "sm9"]) } throws: {
            "\($0)".contains("ledger.suite") && "\($0)".contains("international, guomi")
        }
    }
}
