import ArgumentParser
import FuelModel
import FuelService
import FuelStore
import FuelWire
import Foundation
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon: push API, detection, admin endpoint.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Listen address (http.host).") var host: String?
    @Option(help: "Listen port (http.port).") var port: Int?

    func run() async throws {
        var extra: [String: String] = [:]
        if let host { extra["http.host"] = host }
        if let port { extra["http.port"] = String(port) }
        let config = try await options.load(extra: extra)
        let logger = makeLogger(config.logLevel)
        _ = try config.checkpointKey()  // a bad key stops startup here, with the key's name
        let components = try FuelwardenComponents(config: config, logger: logger)
        try await FuelwardenDaemon.serviceGroup(components: components, logger: logger).run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the schema migrations shipped with this build (safe to run concurrently).")
    @OptionGroup var options: CommonOptions
    @Flag(help: "List what would be applied and whether replicas of the build the schema is at keep serving; apply nothing.")
    var plan = false
    @Flag(help: "Apply only if every pending migration is an expand step (replicas of the previous build keep serving); else apply nothing and exit 1. For the per-replica init step of a rolling update.")
    var expandOnly = false

    func run() async throws {
        let config = try await options.load()
        let logger = makeLogger(config.logLevel)
        try await withDatabase(config, logger) { db in
            var migrator = try Migrator(database: db)
            migrator.lockTimeout = config.database.migrationLockTimeout
            migrator.statementTimeout = config.database.migrationStatementTimeout
            if plan || expandOnly {
                let planned = try await migrator.plan()
                if plan {
                    print(MigrationPlanText.render(planned))
                    return
                }
                // On an empty database no replica can be running: everything is applied.
                let contract = planned.status.applied.isEmpty ? [] : planned.pending.filter { !$0.isCompatible }
                guard contract.isEmpty else {
                    print(MigrationPlanText.render(planned))
                    fail("\(contract.map(\.name).joined(separator: ", ")) is a contract step: apply it with `fuelwarden migrate` once every replica runs this build")
                }
            }
            let applied: [Int]
            do {
                applied = try await migrator.migrate(suite: config.ledger.suite)
            } catch let m as LedgerSuiteStore.Mismatch {
                fail("\(m)")
            }
            print(applied.isEmpty ? "schema is current" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
            // Migration 5 adds tank batch compositions; deliveries already in the ledger get theirs now.
            if applied.contains(5) {
                let tanks = try await ProvenanceStore(database: db).rebuild()
                if tanks > 0 { print("computed the batch mix of \(tanks) tanks from the deliveries on record") }
            }
        }
    }
}

struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "registry", abstract: "Registry (master data) commands.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import cities, suppliers, stations, tanks, nozzles and price ceilings from a YAML file.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "Registry file (YAML).") var file: String

        func run() async throws {
            let config = try await options.load()
            let logger = makeLogger(config.logLevel)
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { fail("cannot read \(file)") }
            let registry: Registry
            do {
                registry = try RegistryFileDecoder.decode(yaml: text)
            } catch {
                fail("\(file): \(error)")
            }
            try await withDatabase(config, logger) { db in
                let summary = try await RegistryStore(database: db).importRegistry(
                    registry, sourceDigest: TokenStore.hash(text).hexString, actor: "cli:\(NSUserName())")
                print("imported \(summary)")
            }
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Station keys and regulator tokens.", subcommands: [Issue.self, Revoke.self])

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a station key (--station) or a regulator token (--role). Prints the secret alone, once.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Station the key pushes for.") var station: String?
        @Option(help: "Regulator role: viewer, inspector or admin.") var role: String?
        @Option(help: "Who or what holds the token.") var name: String?

        func run() async throws {
            let config = try await options.load()
            let logger = makeLogger(config.logLevel)
            let accessRole: AccessRole
            switch (station, role) {
            case (.some, nil): accessRole = .station
            case (nil, .some(let r)):
                guard let parsed = AccessRole(rawValue: r), parsed != .station else { fail("--role must be viewer, inspector or admin, got \"\(r)\"") }
                accessRole = parsed
            default: fail("give either --station STATION or --role viewer|inspector|admin")
            }
            try await withDatabase(config, logger) { db in
                let secret = try await TokenStore(database: db).issue(
                    role: accessRole, station: station, name: name ?? station ?? accessRole.rawValue, actor: "cli:\(NSUserName())")
                print(secret)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
        @OptionGroup var options: CommonOptions
        @Argument var id: Int64

        func run() async throws {
            let config = try await options.load()
            try await withDatabase(config, makeLogger(config.logLevel)) { db in
                try await TokenStore(database: db).revoke(id: id, actor: "cli:\(NSUserName())")
                print("revoked token \(id)")
            }
        }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute every station's hash chain and the audit chain; exit 1 naming the first broken station and seq.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Verify one station only.") var station: String?
    @Option(help: "A saved checkpoint (GET /v1/checkpoints/latest): check its signature and tree, then that the database still hashes to its heads.")
    var checkpoint: String?
    @Option(help: "The checkpoint signer's public key as the regulator was given it: Ed25519 base64, or an SM2 PEM (the text or a file holding it). Without it the file's own key is used.")
    var publicKey: String?
    @Flag(help: "With --checkpoint: check the file only, not the database.") var offline = false
    @Option(name: .customLong("proof"), help: "With --checkpoint: a record's inclusion proof (GET /v1/stations/{id}/records/{seq}/proof) to check against it offline; repeatable.")
    var proofs: [String] = []
    @Option(help: "A directory `fuelwarden archive` wrote: check its months offline (files, chains, checkpoints), then that the database's chains go on from where they end (not with --offline).")
    var archive: String?

    func run() async throws {
        if let checkpoint { return try await verifyCheckpoint(checkpoint) }
        if let archive { return try await verifyArchive(archive) }
        let config = try await options.load()
        let logger = makeLogger(config.logLevel)
        let report = try await withDatabase(config, logger) { db in try await ChainAudit(database: db).verify(station: station) }
        if let (chain, b) = report.firstBreak {
            fail(chain == "audit" ? "audit chain broken at \(b)" : "chain of station \(chain) broken at \(b)")
        }
        print("verified \(report.stationsChecked) station chains (\(report.recordsChecked) records) and \(report.auditEntriesChecked) audit entries under \(report.suite.summary): intact")
    }

    /// `--public-key` as given: an SM2 key comes as PEM, most easily as a file, so a value naming a
    /// readable file is its content.
    var trustedKey: String? {
        publicKey.map { key in FileManager.default.contents(atPath: key).map { String(decoding: $0, as: UTF8.self) } ?? key }
    }

    func verifyArchive(_ root: String) async throws {
        let trusted = trustedKey
        let report = ArchiveVerifier(root: root, trustedKey: trusted).verify()
        if !report.problems.isEmpty {
            fail("archive \(root): " + report.problems.prefix(10).joined(separator: "; ") + (report.problems.count > 10 ? " (and \(report.problems.count - 10) more)" : ""))
        }
        print("archive \(root): \(report.periods.count) months (\(report.periods.joined(separator: ", "))), \(report.records) records of \(report.stations.count) stations: files, chains and checkpoints intact\(publicKey == nil ? " (checkpoints with their own keys: pass --public-key to trust them)" : "")")
        if offline { return }
        let config = try await options.load()
        let logger = makeLogger(config.logLevel)
        let station = self.station
        let (anchors, audit) = try await withDatabase(config, logger) { db in
            (try await ChainAudit(database: db).anchors(), try await ChainAudit(database: db).verify(station: station))
        }
        var joins: [String] = []
        for (s, last) in report.lastArchived where station == nil || station == s {
            let anchor = anchors[s]
            if anchor?.seq != last.seq || anchor?.hash.hexString != last.hash {
                joins.append("\(s): the archive ends at seq \(last.seq), the database's chain begins after \(anchor.map { "seq \($0.seq)" } ?? "nothing archived")")
            }
        }
        for s in anchors.keys where report.lastArchived[s] == nil && (station == nil || station == s) {
            joins.append("\(s): archived up to seq \(anchors[s]!.seq) in the database, absent from the archive")
        }
        if !joins.isEmpty { fail("the archive and the database do not join: " + joins.sorted().prefix(10).joined(separator: "; ")) }
        if let (chain, b) = audit.firstBreak { fail("chain of station \(chain) broken at \(b)") }
        print("database joins the archive: \(audit.stationsChecked) station chains (\(audit.recordsChecked) records in the database) go on from the archived ends, intact")
    }

    func verifyCheckpoint(_ path: String) async throws {
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        let file: CheckpointFile
        do { file = try CheckpointFile.decode(data) } catch { fail("\(path) is not a checkpoint file: \(error)") }
        let trusted = trustedKey
        let problems = file.problems(trustedKey: trusted)
        if !problems.isEmpty { fail("checkpoint \(path): " + problems.joined(separator: "; ")) }
        print("checkpoint \(file.origin) of \(file.issuedAt) (\((file.ledgerSuite ?? .international).summary)): \(file.treeSize) chain heads, signature valid\(publicKey == nil ? " (with the file's own key: pass --public-key to trust it)" : ""), tree intact")
        for proofPath in proofs {
            guard let proofData = FileManager.default.contents(atPath: proofPath) else { fail("cannot read \(proofPath)") }
            let proof: RecordProofFile
            do { proof = try RecordProofFile.decode(proofData) } catch { fail("\(proofPath) is not a record proof: \(error)") }
            let wrong = proof.problems(in: file)
            if !wrong.isEmpty { fail("proof \(proofPath): " + wrong.joined(separator: "; ")) }
            print("record \(proof.seq) of \(proof.station) is in the checkpoint (records tree of \(proof.treeSize))")
        }
        if offline { return }
        let config = try await options.load()
        let logger = makeLogger(config.logLevel)
        let leaves = try file.leaves()
        let fileSuite = file.ledgerSuite ?? .international
        let changed = try await withDatabase(config, logger) { db in
            let suite = try await db.ledgerSuite()
            guard suite == fileSuite else {
                return ["the checkpoint is sealed under \(fileSuite.summary), this database under \(suite.summary)"]
            }
            return try await ChainAudit(database: db).verify(against: leaves)
        }
        if !changed.isEmpty { fail("the database no longer matches the checkpoint: " + changed.joined(separator: "; ")) }
        print("database matches: every station's records up to the checkpointed head recompute to it")
    }
}

/// Runs `body` with a connected database (the pool runs for the body's duration), failing fast
/// with a clear message when the database does not answer.
func withDatabase<T: Sendable>(_ config: FuelwardenConfig, _ logger: Logger, _ body: @escaping @Sendable (FuelDatabase) async throws -> T) async throws -> T {
    let urls: [DatabaseURL]
    do { urls = try config.requireDatabaseURLs() } catch { fail("\(error)") }
    // The pool logs every failed connection attempt at info; a one-shot command reports the outcome itself.
    var poolLogger = logger
    if poolLogger.logLevel >= .info { poolLogger.logLevel = .warning }
    // With several servers named (a primary and its standbys), the command works on the primary.
    let db = FuelDatabase(servers: DatabaseServers(writeURLs: urls, maxConnections: 4, logger: poolLogger),
                          requestDeadline: .seconds(60), logger: poolLogger)
    return await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { await db.run(); return nil }
        defer { group.cancelAll() }
        // The probe's own "database down" line is the daemon's; a command says it once, below.
        var probeLogger = poolLogger
        probeLogger.logLevel = .critical
        let found = await db.servers.refresh(health: db.health, timeout: .seconds(5), logger: probeLogger)
        await db.servers.closeProbes()
        guard found else {
            fail("\(db.health.outage?.reason ?? "database \(urls[0]) does not answer") (is the server running and the database created?)")
        }
        do {
            return try await body(db)
        } catch {
            fail(describeDatabaseError(error))
        }
    }
}
