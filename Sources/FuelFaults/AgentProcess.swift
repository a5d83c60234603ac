import Foundation
import FuelStore

/// `fuelwarden agent run` as a process of its own, so a fault test can kill it with SIGKILL.
package final class AgentProcess: @unchecked Sendable {
    let executable: String
    let configPath: String
    let logPath: String
    private let lock = NSLock()
    private var process: Process?

    package init(executable: String, configPath: String, logPath: String) {
        self.executable = executable
        self.configPath = configPath
        self.logPath = logPath
    }

    package var pid: Int32? { lock.withLock { process.map(\.processIdentifier) } }

    package func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["agent", "run", "--config", configPath, "--log-level", "warning"]
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw StoreError.invalid("cannot write \(logPath)") }
        log.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
    }

    /// SIGKILL: no shutdown, a spool write or an upload cut wherever it is.
    package func kill9() {
        guard let p = lock.withLock({ process }) else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    package func stop() {
        guard let p = lock.withLock({ process }), p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
    }
}
