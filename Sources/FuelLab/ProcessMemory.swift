import Foundation

/// Resident memory of a process, read from `/proc/PID/status` (Linux), for the benchmarks and the
/// fault tests that report a daemon's memory.
package enum ProcessMemory {
    /// `VmRSS` of process `pid` (nil: this process) in bytes; 0 when it cannot be read.
    package static func residentBytes(pid: Int32? = nil) -> Int {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
    }
}

/// A counter shared by tasks.
package final class SharedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    package init() {}
    /// Adds `d` and returns the new value.
    @discardableResult
    package func add(_ d: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += d
        return value
    }
}
