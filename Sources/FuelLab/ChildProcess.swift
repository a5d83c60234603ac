import Foundation
import FuelPostgresFixture
import Glibc

/// A child process of this binary (a daemon or an agent) whose output is appended to a log file:
/// started, killed with SIGKILL, or stopped gracefully within a bounded time, exactly as an
/// operator's supervisor would (systemd's `TimeoutStopSec` escalates to SIGKILL in the same way).
package final class ChildProcess: @unchecked Sendable {
    package let executable: String
    package let arguments: [String]
    /// Where the process's standard output and error go.
    package let logPath: String
    let environment: [String: String]
    private let lock = NSLock()
    private var process: SpawnedProcess?

    package init(executable: String, arguments: [String], logPath: String, environment: [String: String] = [:]) {
        self.executable = executable
        self.arguments = arguments
        self.logPath = logPath
        self.environment = environment
    }

    package var pid: Int32? { lock.withLock { process.map(\.pid) } }
    package var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// Starts the process, its output appended to ``logPath``; `extra` adds to its environment for this start.
    package func start(environment extra: [String: String] = [:]) throws {
        let p = try SpawnedProcess([executable] + arguments, environment: environment.merging(extra) { $1 }, output: logPath)
        lock.withLock { process = p }
    }

    /// Waits at most `seconds` for the process to exit on its own; answers its status (128 + the
    /// signal that ended it), or nil while it still runs.
    package func waitForExit(seconds: Double) -> Int32? {
        guard let p = lock.withLock({ process }) else { return nil }
        return p.wait(seconds: seconds)
    }

    /// SIGKILL: no graceful shutdown, no flush, whatever it was doing cut where it was.
    package func kill9() {
        guard let p = lock.withLock({ process }) else { return }
        p.send(SIGKILL)
        p.wait()
    }

    /// SIGTERM, then SIGKILL if the process has not exited within `graceSeconds`: a harness never
    /// waits forever on a shutdown that hangs. Answers whether the process exited on its own
    /// (true also when it was not running); a stop that needed SIGKILL is written to the log.
    @discardableResult
    package func stop(graceSeconds: Double = 30) -> Bool {
        guard let p = lock.withLock({ process }), p.isRunning else { return true }
        if p.terminate(graceSeconds: graceSeconds) { return true }
        if let log = FileHandle(forWritingAtPath: logPath) {
            log.seekToEndOfFile()
            log.write(Data("harness: pid \(p.pid) did not exit within \(graceSeconds) s of SIGTERM; sent SIGKILL\n".utf8))
            try? log.close()
        }
        return false
    }
}
