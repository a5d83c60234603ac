import Foundation
import FuelClient
import FuelStore
import Glibc

#if canImport(Glibc)
#endif

/// A `fuelwarden serve` child process on a port of its own: started, probed for readiness, stopped
/// gracefully or killed with SIGKILL, exactly as an operator's supervisor would.
package final class DaemonProcess: @unchecked Sendable {
    package let executable: String
    package let databaseURL: String
    package let port: Int
    /// Where the daemon's standard error (its log) goes.
    package let logPath: String
    let environment: [String: String]
    private let lock = NSLock()
    private var process: Process?

    package init(executable: String, databaseURL: String, port: Int, logPath: String, environment: [String: String] = [:]) {
        self.executable = executable
        self.databaseURL = databaseURL
        self.port = port
        self.logPath = logPath
        self.environment = environment
    }

    package var baseURL: String { "http://127.0.0.1:\(port)" }
    package var pid: Int32? { lock.withLock { process.map(\.processIdentifier) } }
    package var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// The `fuelwarden` binary this process runs as (`/proc/self/exe`, so `swift run` works too).
    package static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// Starts the daemon (detection on, log level `warning` into ``logPath``, appended).
    package func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["serve", "--database-url", databaseURL, "--port", "\(port)", "--log-level", "warning"]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw StoreError.invalid("cannot write \(logPath)") }
        log.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
    }

    /// Waits until `/readyz` answers 200.
    package func waitUntilReady(client: FuelwardenClient, seconds: Double = 30) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let (status, _) = try? await client.send(.GET, "/readyz", token: nil, timeoutSeconds: 2), status == 200 { return }
            guard isRunning else { throw StoreError.unavailable("fuelwarden serve on port \(port) exited; its log is \(logPath)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StoreError.unavailable("fuelwarden serve on port \(port) was not ready within \(seconds) s; its log is \(logPath)")
    }

    /// SIGKILL: no graceful shutdown, no flush, in-flight requests cut.
    package func kill9() {
        guard let p = lock.withLock({ process }) else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM and wait: the graceful way out.
    package func stop() {
        guard let p = lock.withLock({ process }), p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
    }
}
