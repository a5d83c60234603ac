import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server in a temporary directory, for the demo, the benchmarks and the
/// tests: `initdb`, `pg_ctl start` on 127.0.0.1 and a free port, `stop()` removes everything.
/// PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user.
package final class ThrowawayCluster: Sendable {
    package let directory: String
    package let port: Int
    package let binDirectory: String
    private let runAsPostgres: Bool
    private let serverOptions: String

    /// Server binaries: `$FUELWARDEN_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
    package static func findBinaries() throws -> String {
        if let env = ProcessInfo.processInfo.environment["FUELWARDEN_PG_BIN"], !env.isEmpty { return env }
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for v in versions where FileManager.default.isExecutableFile(atPath: "\(base)/\(v)/bin/initdb") {
            return "\(base)/\(v)/bin"
        }
        throw ClusterError("no PostgreSQL server binaries found under \(base); install postgresql or set FUELWARDEN_PG_BIN")
    }

    /// Creates and starts a cluster. `durable: false` turns off fsync and synchronous commit (tests).
    package init(durable: Bool = false) throws {
        self.binDirectory = try Self.findBinaries()
        self.runAsPostgres = getuid() == 0
        self.directory = try Self.makeDirectory(runAsPostgres: runAsPostgres)
        self.port = try Self.freePort()
        var options = Self.baseOptions(port: port, directory: directory)
        if !durable { options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" }
        self.serverOptions = options
        do {
            try run("initdb", ["-D", "\(directory)/data", "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
            // In the configuration file, not on the command line, so that ``configure(_:)`` can change it.
            try Self.appendSetting("shared_buffers = 128MB", to: "\(directory)/data/postgresql.conf")
            try startServer()
        } catch {
            let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            throw ClusterError("\(error)\n\(log.suffix(2000))")
        }
    }

    /// A hot standby of `primary`, streaming from it: a base backup (`pg_basebackup -R -X stream`)
    /// started on a port of its own with `cluster_name` = `name`, which is the name its primary
    /// knows it by in `synchronous_standby_names`. Durable, like a primary made for fault tests.
    package init(standbyOf primary: ThrowawayCluster, name: String) throws {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw ClusterError("bad standby name \(name)") }
        self.binDirectory = primary.binDirectory
        self.runAsPostgres = primary.runAsPostgres
        self.directory = try Self.makeDirectory(runAsPostgres: runAsPostgres)
        self.port = try Self.freePort()
        self.serverOptions = Self.baseOptions(port: port, directory: directory) + " -c cluster_name=\(name) -c hot_standby=on"
        do {
            try run("pg_basebackup", ["-h", "127.0.0.1", "-p", "\(primary.port)", "-U", "postgres", "-D", "\(directory)/data",
                                      "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"])
            try startServer()
        } catch {
            let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            throw ClusterError("\(error)\n\(log.suffix(2000))")
        }
    }

    /// Promotes a standby to primary (`pg_ctl promote -w`: returns once it accepts writes).
    package func promote() throws {
        try run("pg_ctl", ["-D", "\(directory)/data", "-w", "-t", "60", "promote"])
    }

    /// Makes commits wait for the standbys named (`synchronous_standby_names`; empty: asynchronous)
    /// with `synchronous_commit = on`: a commit returns once the standby has flushed it.
    package func setSynchronousStandbys(_ names: [String]) throws {
        let list = names.joined(separator: ",")
        try psql(database: "postgres", "ALTER SYSTEM SET synchronous_standby_names = '\(list)'")
        try psql(database: "postgres", "SELECT pg_reload_conf()")
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`
    package func url(database: String = "postgres") -> String { "postgres://postgres@127.0.0.1:\(port)/\(database)" }

    /// Creates a database (name: letters, digits, underscores).
    package func createDatabase(_ name: String) throws {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw ClusterError("bad database name \(name)") }
        try run("psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                         "-q", "-c", "CREATE DATABASE \(name)"])
    }

    /// Runs SQL through psql as the superuser (used to show tampering in tests and demos).
    @discardableResult
    package func psql(database: String, _ sql: String) throws -> String {
        try run("psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                         "-At", "-c", sql])
    }

    /// Sets server parameters (`ALTER SYSTEM`, kept in the cluster's `postgresql.auto.conf`) and
    /// restarts the server so that every one of them, `shared_buffers` too, is in force (all but the
    /// port, the listen address, the socket directory and `max_connections`, set on the command line). Names are
    /// PostgreSQL's (letters, digits, underscores, dots); values are quoted as SQL strings.
    package func configure(_ settings: [(name: String, value: String)]) throws {
        for (name, value) in settings {
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw ClusterError("bad server parameter name \(name)")
            }
            try psql(database: "postgres", "ALTER SYSTEM SET \(name) = '\(value.replacingOccurrences(of: "'", with: "''"))'")
        }
        try run("pg_ctl", ["-D", "\(directory)/data", "-m", "fast", "-w", "-t", "120", "stop"])
        try startServer()
    }

    /// Starts the server again after ``stopServer()`` (same port, same data).
    package func startServer() throws {
        try run("pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-o", serverOptions, "-w", "-t", "60", "start"])
    }

    /// Stops the server the hard way (`-m immediate`: connections cut, no checkpoint), keeping its
    /// data: an outage, as a crash or a kill of the host's PostgreSQL would be. Committed work
    /// survives on a durable cluster.
    package func stopServer() throws {
        try run("pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
    }

    /// Stops the server and removes its directory.
    package func stop() {
        _ = try? run("pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    private func run(_ tool: String, _ args: [String]) throws -> String {
        let path = "\(binDirectory)/\(tool)"
        let exe = FileManager.default.isExecutableFile(atPath: path) ? path : "/usr/bin/\(tool)"
        let argv = runAsPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", exe] + args : [exe] + args
        // Output goes to a file, not a pipe: the server pg_ctl starts inherits the descriptors and
        // would hold a pipe open forever.
        let outPath = "\(directory)/\(tool)-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let status = try SpawnedProcess.run(argv, output: outPath)
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw ClusterError("\(tool) failed (\(status)): \(text)") }
        return text
    }

    private static func appendSetting(_ line: String, to path: String) throws {
        guard let file = FileHandle(forWritingAtPath: path) else { throw ClusterError("cannot open \(path)") }
        defer { try? file.close() }
        try file.seekToEnd()
        try file.write(contentsOf: Data("\n\(line)\n".utf8))
    }

    /// A new temporary directory for a cluster, owned by the postgres OS user when running as root.
    private static func makeDirectory(runAsPostgres: Bool) throws -> String {
        var template = Array("/tmp/fuelwarden-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ClusterError("cannot create a temporary directory") }
        let directory = String(cString: made)
        if runAsPostgres {
            guard let pw = getpwnam("postgres") else {
                throw ClusterError("running as root needs the postgres OS user (apt-get install postgresql)")
            }
            guard chown(directory, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else { throw ClusterError("cannot chown \(directory) to postgres") }
        }
        return directory
    }

    /// Server options every cluster shares: its port, 127.0.0.1 and its socket directory.
    /// 1,000 connections: the test process runs a dozen daemons at once, each with a pool of 20
    /// and its test's own 8; at 200 a busy CI machine was refused with "too many clients".
    private static func baseOptions(port: Int, directory: String) -> String {
        "-p \(port) -c listen_addresses=127.0.0.1 -k \(directory) -c max_connections=1000"
    }

    /// A TCP port on 127.0.0.1 nothing listens on right now.
    package static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw ClusterError("cannot find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

package struct ClusterError: Error, CustomStringConvertible {
    package var description: String
    init(_ d: String) { description = d }
}
