import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` and reaped with `waitpid`, its output appended to a
/// file, standard input `/dev/null`.
///
/// Hand-written rather than Foundation's `Process`: on Linux `Process.waitUntilExit()` spins the
/// calling thread's run loop and waits for Foundation's SIGCHLD thread to notice the exit; from a
/// Swift concurrency worker under load it was seen to wait forever for children that had long
/// exited (here: `pg_ctl` once it had started a server, and a fault test's daemon). `waitpid` on
/// our own pid cannot miss the exit. (swift-subprocess ties a child's life to one async scope; the
/// laboratory's children outlive the call that starts them.)
package final class SpawnedProcess: @unchecked Sendable {
    package let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `argv` (`argv[0]` a path) with this process's environment plus `environment`,
    /// standard output and error appended (or, with `truncate`, written from the start) to `output`;
    /// standard error to `errors` instead when given.
    package init(_ argv: [String], environment: [String: String] = [:], output: String, errors: String? = nil, truncate: Bool = false) throws {
        precondition(!argv.isEmpty)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : O_APPEND), 0o644)
        if let errors {
            posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : O_APPEND), 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // The child starts with every signal at its default and none blocked, whatever this process
        // ignores or blocks (a service's signal handling ignores SIGTERM to watch it through
        // Dispatch, and an ignored signal would stay ignored across exec), as Foundation does.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for a in cArgs + cEnv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw SpawnError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// Whether the process has not exited yet (reaps it if it has).
    package var isRunning: Bool { poll() == nil }

    /// The exit status once it has exited: the code, or 128 + the signal that ended it.
    package var status: Int32? { poll() }

    /// Sends `signal` unless the process has already been reaped (its pid may belong to another by then).
    package func send(_ signal: Int32) {
        lock.withLock { if exitStatus == nil { _ = kill(pid, signal) } }
    }

    /// Waits until the process exits; answers its status. (Polls rather than blocking in `waitpid`
    /// so that no lock is held while waiting: another thread may still signal the process.)
    @discardableResult
    package func wait() -> Int32 {
        while true {
            if let s = poll() { return s }
            usleep(10_000)
        }
    }

    /// Waits at most `seconds`; answers the status, or nil if it is still running.
    package func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let s = poll() { return s }
            if Date() >= deadline { return nil }
            usleep(20_000)
        }
    }

    /// SIGTERM, then SIGKILL after `graceSeconds`; answers whether it exited before the SIGKILL.
    package func terminate(graceSeconds: Double) -> Bool {
        send(SIGTERM)
        if wait(seconds: graceSeconds) != nil { return true }
        send(SIGKILL)
        wait()
        return false
    }

    private func poll() -> Int32? {
        lock.withLock {
            if let exitStatus { return exitStatus }
            var raw: Int32 = 0
            while true {
                let r = waitpid(pid, &raw, WNOHANG)
                if r == pid {
                    // WIFEXITED / WEXITSTATUS by hand (the macros are not imported).
                    exitStatus = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
                    return exitStatus
                }
                if r == 0 { return nil }
                if errno == EINTR { continue }
                exitStatus = -1  // ECHILD: not ours to wait for any more
                return exitStatus
            }
        }
    }

    /// Runs `argv` to its end (killed after `timeoutSeconds`), output to the file `output`
    /// (truncated; standard error too unless `errors` names another file); answers the exit status (128 + 9 when it had to be killed).
    package static func run(_ argv: [String], environment: [String: String] = [:], output: String, errors: String? = nil,
                            timeoutSeconds: Double? = nil) throws -> Int32 {
        let p = try SpawnedProcess(argv, environment: environment, output: output, errors: errors, truncate: true)
        guard let timeoutSeconds else { return p.wait() }
        if let s = p.wait(seconds: timeoutSeconds) { return s }
        p.send(SIGKILL)
        return p.wait()
    }
}

/// A child process that could not be started.
package struct SpawnError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

extension SpawnedProcess {
    /// Runs `argv` to its end and answers its exit status and what it wrote to standard output
    /// (and standard error, with `mergingErrors`), through temporary files.
    package static func capture(_ argv: [String], mergingErrors: Bool = true, timeoutSeconds: Double? = 120) throws -> (status: Int32, output: Data) {
        let base = NSTemporaryDirectory() + "fuelwarden-spawn-\(UInt64.random(in: 0...UInt64.max))"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let status = try run(argv, output: base + ".out", errors: mergingErrors ? nil : base + ".err", timeoutSeconds: timeoutSeconds)
        return (status, (try? Data(contentsOf: URL(fileURLWithPath: base + ".out"))) ?? Data())
    }
}
