import FuelLedger
import Crypto
import FuelDetect
import FuelModel
import FuelStore
import FuelWire
import Foundation
import FuelFeeds
import Logging

/// Everything the daemon reads from configuration, one typed settings value per section. Every key,
/// its default, range and meaning is in ``ConfigTable``; `config/fuelwarden.example.yaml` is made
/// from that table (`fuelwarden config example`). Each key `a.b_c` is also `FUELWARDEN_A_B_C` in the
/// environment and, for the common ones, a command-line flag. Precedence: flags, environment, file,
/// built-in defaults.
public struct FuelwardenConfig: Sendable {
    public var database = DatabaseSettings()
    public var http = HTTPSettings()
    public var ingest = IngestSettings()
    public var auth = AuthSettings()
    public var console = ConsoleSettings()
    public var registry = RegistrySettings()
    public var detect = DetectSettings()
    public var feeds = FeedSettings()
    public var ledger = LedgerSettings()
    public var checkpoint = CheckpointSettings()
    public var history = HistorySettings()
    public var notify = NotifySettings()
    public var inspection = InspectionSettings()
    public var logLevel: Logger.Level = .info

    public init() {}

    /// The database URL's first server, or an error naming the three ways to give it.
    public func requireDatabaseURL() throws -> DatabaseURL { try requireDatabaseURLs()[0] }

    /// Every server `database.url` names (one, or a primary and its standbys), or an error naming
    /// the three ways to give it.
    public func requireDatabaseURLs() throws -> [DatabaseURL] {
        guard let text = database.url, !text.isEmpty else {
            throw ConfigurationError(key: "database.url", message: "is not set (config file database.url, FUELWARDEN_DATABASE_URL, or --database-url)")
        }
        do {
            return try DatabaseURL.list(text)
        } catch {
            throw ConfigurationError(key: "database.url", message: "\(error)")
        }
    }

    /// The standbys `database.read_url` names (none when unset).
    public func readDatabaseURLs() throws -> [DatabaseURL] {
        guard let text = database.readURL, !text.isEmpty else { return [] }
        do {
            return try DatabaseURL.list(text)
        } catch {
            throw ConfigurationError(key: "database.read_url", message: "\(error)".replacingOccurrences(of: "database.url: ", with: ""))
        }
    }
}

/// `database.*`
public struct DatabaseSettings: Sendable {
    public var url: String?
    /// Standbys that may serve reads (alert lists, station pages, exports, reports).
    public var readURL: String?
    /// A standby further behind than this serves no reads (they go to the primary).
    public var maxReadLag: Duration = .seconds(5)
    public var maxConnections = 20
    /// Longest a request may wait for the database; past it the request answers 503 with Retry-After.
    public var requestDeadline: Duration = .seconds(5)
    /// How long a migration statement waits for a lock before it gives up (and is tried again).
    public var migrationLockTimeout: Duration = .seconds(5)
    /// Longest a migration statement may run; zero: no limit.
    public var migrationStatementTimeout: Duration = .zero
    public init() {}
}

/// `http.*`
public struct HTTPSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// A connection that sends nothing (no request, no body bytes) for this long is closed: slow
    /// senders cannot hold connections open.
    public var idleTimeout: Duration = .seconds(30)
    /// Open connections at most; past it new ones wait in the listen backlog.
    public var maxConnections = 10_000
    /// Longest a graceful shutdown (SIGTERM) waits for requests and background work to end before
    /// it cancels them: below a supervisor's kill timeout (Kubernetes' 30 s), so the daemon exits itself.
    public var shutdownGrace: Duration = .seconds(20)
    /// TLS termination (`http.tls.*`): the server's certificate chain and key (PEM); nil = plain HTTP.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// CA (PEM) of station client certificates: when set, every client must present a certificate
    /// it signed, and a station key is accepted only with a certificate naming its station.
    public var tlsClientCA: String?
    public init() {}
}

/// `ingest.*`
public struct IngestSettings: Sendable {
    public var maxBodyBytes = 8 * 1024 * 1024
    public var maxLines = 20_000
    /// A push body must arrive whole within this time (408 otherwise).
    public var bodyTimeout: Duration = .seconds(30)
    /// Group commit (``AppendCoalescer``): records per batch, the oldest push's longest wait, batches at once.
    public var coalesceMaxRecords = 5_000
    public var coalesceMaxWait: Duration = .milliseconds(2)
    public var coalesceTransactions = 2
    public var coalescing: AppendCoalescer.Settings {
        AppendCoalescer.Settings(maxRecords: coalesceMaxRecords, maxWait: coalesceMaxWait, transactions: coalesceTransactions)
    }
    public init() {}
}

/// `auth.*`
public struct AuthSettings: Sendable {
    /// How long a verified token is remembered (a revoked token stops working within this time).
    public var cacheTTL: Duration = .seconds(30)
    public init() {}
}

/// `console.*`: the regulator console's sessions.
public struct ConsoleSettings: Sendable {
    /// A session unused this long ends.
    public var sessionIdle: Duration = .seconds(30 * 60)
    /// A session ends this long after sign-in, however busy.
    public var sessionAbsolute: Duration = .seconds(12 * 3600)
    /// Mark the session cookie `Secure` (the console is served over TLS by a proxy in front); it is
    /// also marked when the request says `X-Forwarded-Proto: https`.
    public var secureCookie = false
    public init() {}
}

/// `registry.*`
public struct RegistrySettings: Sendable {
    public var refreshInterval: Duration = .seconds(30)
    public init() {}
}

/// `detect.*`: where and how often detection runs, and the rules' thresholds.
public struct DetectSettings: Sendable {
    public var enabled = true
    public var interval: Duration = .seconds(1)
    public var batchSize = 5_000
    /// A station's detectors run at most this often while its backlog is under a batch (``DetectionPassSpacing``).
    public var stationMinPass: Duration = .seconds(5)
    /// Stations whose detectors run at once (0: one per core).
    public var workers = 0
    /// Stations whose last committed detector state is kept in memory (``DetectorStateCache``; 0: none).
    public var stateCacheStations = 20_000
    /// Detector states store their figures as text (one string a list: encoded in about half the time);
    /// false: as JSON arrays, which builds before 2026-12-07 read.
    public var stateFiguresAsText = true
    /// ``workers``, or the machine's cores when 0.
    public var effectiveWorkers: Int { workers > 0 ? workers : max(1, ProcessInfo.processInfo.activeProcessorCount) }
    /// Wall-clock time without any record before a station's feed is flagged stale.
    public var staleFeedAfter: Duration = .seconds(15 * 60)
    public var thresholds = DetectionThresholds()
    public init() {}
}

/// `feeds.*`: device feeds.
public struct FeedSettings: Sendable {
    /// The feeds file (ATG consoles, HJ 212 devices); nil = no device feeds.
    public var file: String?
    public var hj212Enabled = false
    public var hj212 = HJ212ListenerSettings()
    public var atg = ATGPollerSettings()
    public init() {}
}

/// `checkpoint.*`
public struct LedgerSettings: Sendable {
    /// The suite a new database is sealed with; an existing one must match it.
    public var suite = LedgerSuite.international
    /// Whole years kept in the database (0: everything); older months are archived.
    public var retentionYears = 0
    /// Where archived months go.
    public var archiveDirectory: String?
    public init() {}
}

public struct CheckpointSettings: Sendable {
    /// Ed25519 private key (base64 of the 32 raw bytes, or a file holding it); nil = no checkpoints.
    public var signingKey: String?
    public var interval: Duration = .seconds(300)
    /// Names this deployment in every signed checkpoint.
    public var origin = "fuelwarden"
    /// Every station's chain is recomputed from its stored bodies at least this often, one station
    /// at a time in the background; zero: only by `fuelwarden verify` and inspection pre-checks.
    public var verifyEvery: Duration = .seconds(24 * 3600)
    /// Each station's chain is recomputed whole at least this often; the background verifications
    /// between check the records added since the last one.
    public var verifyWholeEvery: Duration = .seconds(30 * 24 * 3600)
    public init() {}
}

/// `history.*`
public struct HistorySettings: Sendable {
    /// Directory for complete history-export chunks (files); nil = every export reads PostgreSQL.
    public var cacheDir: String?
    /// Size limit of that directory; the least recently used chunks go first.
    public var cacheMaxMB = 10_240
    public init() {}
}

extension FuelwardenConfig {
    /// The checkpoint signing key, or nil when none is configured; it must be of `ledger.suite`.
    public func checkpointKey() throws -> CheckpointSigningKey? {
        guard let text = checkpoint.signingKey else { return nil }
        var raw = text
        // A key's base64 may itself begin with "/": only text that is not a key is taken as a path.
        if (try? CheckpointSigningKey.parse(text)) == nil, text.hasPrefix("/") || text.hasPrefix(".") {
            guard let file = try? String(contentsOfFile: text, encoding: .utf8) else {
                throw ConfigurationError(key: "checkpoint.signing_key", message: "cannot read \(text)")
            }
            raw = file
        }
        let key: CheckpointSigningKey
        do {
            key = try CheckpointSigningKey.parse(raw)
        } catch {
            throw ConfigurationError(key: "checkpoint.signing_key", message: "\(error); make one with `fuelwarden checkpoint keygen --suite \(ledger.suite.rawValue)`")
        }
        guard key.suite == ledger.suite else {
            throw ConfigurationError(key: "checkpoint.signing_key",
                                     message: "an \(key.suite.signatureName) key, but ledger.suite is \(ledger.suite.summary); make one with `fuelwarden checkpoint keygen --suite \(ledger.suite.rawValue)`")
        }
        return key
    }

    /// The feeds file, read and checked; errors name the file, the entry and the field.
    public func loadFeeds() throws -> FeedsFile {
        guard let path = feeds.file else { return FeedsFile() }
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

extension FuelwardenConfig {
    /// Reads `feeds.hj212.key_file` (empty when unset). The file holds secrets: it must be readable
    /// by its owner only, and errors name the device and field, never a key.
    public func loadHJ212Keys() throws -> [String: [HJ212KeyRing.Key]] {
        guard let path = feeds.hj212.keyFile else { return [:] }
        let text: String
        do {
            text = try SecretFile.read(path, holds: "SM4 keys")
        } catch {
            throw ConfigurationError(key: "feeds.hj212.key_file", message: error.description)
        }
        do {
            return try HJ212KeyFile.decode(yaml: text)
        } catch {
            throw ConfigurationError(key: "feeds.hj212.key_file", message: "\(path): \(error)")
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
