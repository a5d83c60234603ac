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

    /// Resident bytes of process `pid` by what is mapped (a file's name, or `[anonymous]`, `[heap]`,
    /// `[stack]`…), largest first, from `/proc/PID/smaps`: where a process's memory is.
    package static func residentByMapping(pid: Int32) -> [(mapping: String, bytes: Int)] {
        // Read to the end: a /proc file's size is 0, and a read sized by it may stop early.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/smaps"), let data = try? handle.readToEnd() else { return [] }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        var sums: [String: Int] = [:]
        var current = "[anonymous]"
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-") && first.contains(where: \.isHexDigit) && !first.hasSuffix(":") {
                // A mapping's header: address range, permissions, offset, device, inode, [path].
                current = fields.count > 5 ? String((fields[5] as Substring).split(separator: "/").last ?? fields[5]) : "[anonymous]"
            } else if first == "Rss:", fields.count > 1, let kb = Int(fields[1]) {
                sums[current, default: 0] += kb * 1024
            }
        }
        return sums.map { ($0.key, $0.value) }.sorted { $0.bytes > $1.bytes }
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
