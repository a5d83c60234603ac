import Foundation
import FuelClient
import FuelStore

/// A `fuelwarden serve` child process on a port of its own: started, probed for readiness, stopped
/// gracefully or killed with SIGKILL, exactly as an operator's supervisor would.
package final class DaemonProcess: Sendable {
    package let databaseURL: String
    package let port: Int
    let child: ChildProcess

    package init(executable: String, databaseURL: String, port: Int, logPath: String, environment: [String: String] = [:]) {
        self.databaseURL = databaseURL
        self.port = port
        child = ChildProcess(executable: executable,
                             arguments: ["serve", "--database-url", databaseURL, "--port", "\(port)", "--log-level", "warning"],
                             logPath: logPath, environment: environment)
    }

    package var executable: String { child.executable }
    /// Where the daemon's standard error (its log) goes.
    package var logPath: String { child.logPath }
    package var baseURL: String { "http://127.0.0.1:\(port)" }
    package var pid: Int32? { child.pid }
    package var isRunning: Bool { child.isRunning }

    /// The `fuelwarden` binary this process runs as (`/proc/self/exe`, so `swift run` works too).
    package static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// Starts the daemon (detection on, log level `warning` into ``logPath``, appended).
    package func start() throws { try child.start() }

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
    package func kill9() { child.kill9() }

    /// SIGTERM and wait (SIGKILL after `graceSeconds`): the graceful way out. Answers whether the
    /// daemon exited on its own.
    @discardableResult
    package func stop(graceSeconds: Double = 30) -> Bool { child.stop(graceSeconds: graceSeconds) }
}
