import AsyncAlgorithms
import FuelGuomi
import FuelModel
import FuelWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage
import Logging
import ServiceLifecycle

/// The sales system's drop directory. A file is taken when it appears under its final name
/// (`.ndjson`, `.jsonl`, `.csv`; writers write `name.tmp` or `.name` and rename it, so a file is
/// never read half written): its lines are read, the bad ones written to `rejected/<name>.txt`
/// with their numbers and reasons, the good ones spooled with the file's content digest in one
/// transaction. The file stays where it is until the cloud has acknowledged every record of it,
/// then moves to `done/`. A file whose digest is known is not taken again (after a restart, or a
/// copy of the same content). While the spool is full, files wait untouched.
public struct DropDirectoryReader: Service {
    let directory: String
    let spool: AgentSpool
    let every: Duration
    let logger: Logger
    let wake: @Sendable () -> Void

    public init(directory: String, spool: AgentSpool, every: Duration, logger: Logger, wake: @escaping @Sendable () -> Void = {}) {
        self.directory = directory
        self.spool = spool
        self.every = every
        self.logger = logger
        self.wake = wake
    }

    public func run() async throws {
        for sub in ["done", "rejected"] {
            try FileManager.default.createDirectory(atPath: path(sub), withIntermediateDirectories: true)
        }
        for await _ in AsyncTimerSequence(interval: every, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try scan()
            } catch {
                logger.warning("drop directory scan failed", metadata: ["error": "\(error)"])
                try? spool.note(kind: "drop", text: "scan failed: \(error)")
            }
        }
    }

    func path(_ parts: String...) -> String {
        parts.reduce(FilePath(directory)) { $0.appending($1) }.string
    }

    /// One pass: acknowledged files to `done/`, then new files into the spool (unless it is full).
    public func scan(now: Date = Date()) throws {
        for f in try spool.acknowledgedFiles() {
            let from = path(f.name)
            if FileManager.default.fileExists(atPath: from) { try moveAside(from, into: "done", name: f.name) }
            try spool.fileDone(f.id)
            logger.info("drop file done", metadata: ["file": "\(f.name)"])
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var taken = 0
        for name in names {
            guard let format = DropFile.format(ofName: name) else { continue }
            var isDirectory = false
            guard FileManager.default.fileExists(atPath: path(name), isDirectory: &isDirectory), !isDirectory else { continue }
            if try spool.mustPause() {
                try spool.markFull(now: now)
                try spool.set("poll:drop", "\(Timestamp(now).rfc3339) waiting: spool full, \(name) and later files left untouched")
                return
            }
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path(name))))
            let digest = PlainFormat.hex(try SHA256Digest.hash(bytes))
            if try spool.knowsFile(digest: digest) { continue }  // taken before; waits for its acknowledgement
            let lines = DropFile.parse(bytes, format: format)
            var items: [AgentSpool.Item] = []
            var refused: [String] = []
            for line in lines {
                switch line.result {
                case .success(let record): items.append(AgentSpool.Item(record: record, origin: "drop:\(name)"))
                case .failure(let error): refused.append("line \(line.number): \(error)\t\(line.raw.prefix(2000))")
                }
            }
            if !refused.isEmpty {
                // Written before the spool commit: a crash in between writes the same report again.
                let report = "# \(name): \(refused.count) of \(lines.count) lines refused (line: reason<TAB>line as written)\n"
                    + refused.joined(separator: "\n") + "\n"
                try Data(report.utf8).write(to: URL(fileURLWithPath: path("rejected", name + ".txt")), options: .atomic)
            }
            let added = try spool.append(items, file: .init(name: name, digest: digest, lines: lines.count, rejected: refused.count), now: now)
            taken += 1
            logger.info("drop file taken", metadata: ["file": "\(name)", "records": "\(added)", "refused": "\(refused.count)"])
            try spool.set("poll:drop", "\(Timestamp(now).rfc3339) took \(name): \(added) records, \(refused.count) lines refused")
        }
        if taken > 0 { wake() }
        // Below the ceiling again: readings resume and the time it was full is recorded.
        if try spool.hasRoomAgain() { try spool.clearFull(station: "agent-spool", now: now) }
    }

    /// Moves a file into `sub/` under its name, or with a suffix when that name is taken.
    func moveAside(_ from: String, into sub: String, name: String) throws {
        var target = path(sub, name)
        var n = 1
        while FileManager.default.fileExists(atPath: target) {
            n += 1
            target = path(sub, "\(name).\(n)")
        }
        try FileManager.default.moveItem(atPath: from, toPath: target)
    }
}
