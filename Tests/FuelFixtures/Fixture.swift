import Foundation

/// The test data kept in `Tests/Fixtures/` (see its README for where each file came from).
///
/// Loading throws ``Missing`` naming the path, so a missing or unreadable fixture fails the one test
/// that needs it instead of crashing the whole test process.
public enum Fixture {
    /// A fixture file could not be read.
    public struct Missing: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "test fixture \(path) cannot be read: \(reason)" }
    }

    /// The directory holding the fixtures.
    public static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The text of `relativePath` (e.g. `hj212/vectors.txt`).
    public static func text(_ relativePath: String) throws -> String {
        let url = directory.appendingPathComponent(relativePath)
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw Missing(path: url.standardizedFileURL.path, reason: "\(error.localizedDescription)")
        }
    }

    /// The non-empty lines of `relativePath`.
    public static func lines(_ relativePath: String) throws -> [String] {
        try text(relativePath).split(separator: "\n", omittingEmptySubsequences: true).map { String($0.trimmingCharacters(in: .init(charactersIn: "\r"))) }
    }

    /// HJ 212-2017 packets: the valid ones and those with a wrong CRC (without their `BAD ` prefix).
    public static func hj212Vectors() throws -> (valid: [String], bad: [String]) {
        let lines = try lines("hj212/vectors.txt")
        return (lines.filter { $0.hasPrefix("##") }, lines.filter { $0.hasPrefix("BAD ##") }.map { String($0.dropFirst(4)) })
    }
}
