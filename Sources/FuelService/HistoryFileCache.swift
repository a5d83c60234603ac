import FuelStore
import Foundation
import Logging
import NIOCore
import Synchronization

/// Complete history-export chunks as files under `history.cache_dir`
/// (`DIR/STATION/LAYOUT-RECORDS-INDEX`), written once (temporary file, then rename) and read back
/// for every later whole-chain export: a station-year then leaves the disk cache instead of
/// PostgreSQL, which on a small machine cannot hand out that much text in two seconds.
///
/// The files take about as much space as the export text (~400 bytes a record); past
/// `history.cache_max_mb` the least recently used chunks are removed. A chunk is the export text
/// of records that can no longer change; a database edited afterwards is not reflected here — the
/// chain head named in the export comes from the database, so a receiver that recomputes the chain
/// sees the mismatch.
public final class HistoryFileCache: HistoryChunkCache {
    let directory: String
    let maxBytes: Int64
    let logger: Logger
    /// Bytes on disk, counted from a scan the first time it is needed.
    private let used = Mutex<Int64?>(nil)

    public init(directory: String, maxMB: Int, logger: Logger) {
        self.directory = directory
        self.maxBytes = Int64(maxMB) * 1_048_576
        self.logger = logger
    }

    func path(_ station: String, _ layout: HistoryLayout, _ index: Int, _ records: Int64) -> (dir: String, file: String) {
        // Station ids are validated identifiers (letters, digits, '-', '_'): safe as a directory name.
        let dir = directory + "/" + station
        return (dir, dir + "/\(layout.rawValue)-\(records)-\(index)")
    }

    public func chunk(station: String, layout: HistoryLayout, index: Int, records: Int64) async -> ByteBuffer? {
        let p = path(station, layout, index, records)
        guard let data = FileManager.default.contents(atPath: p.file) else { return nil }
        // Reading marks it used: eviction goes by modification time.
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: p.file)
        return ByteBuffer(data: data)
    }

    public func store(_ text: ByteBuffer, station: String, layout: HistoryLayout, index: Int, records: Int64) async {
        let p = path(station, layout, index, records)
        let tmp = p.file + ".\(UUID().uuidString).tmp"
        do {
            try FileManager.default.createDirectory(atPath: p.dir, withIntermediateDirectories: true)
            try Data(text.readableBytesView).write(to: URL(fileURLWithPath: tmp))
            if rename(tmp, p.file) != 0 { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            logger.warning("history chunk not cached", metadata: ["file": "\(p.file)", "error": "\(error)"])
            return
        }
        let total = used.withLock { u -> Int64? in
            guard let current = u else { return nil }
            u = current + Int64(text.readableBytes)
            return u
        } ?? rescan()
        if total > maxBytes { evict() }
    }

    /// Every chunk file with its size and modification time.
    private func files() -> [(path: String, size: Int64, modified: Date)] {
        guard let stations = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [(String, Int64, Date)] = []
        for st in stations {
            let dir = directory + "/" + st
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !f.hasSuffix(".tmp") {
                let path = dir + "/" + f
                guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
                out.append((path, (a[.size] as? NSNumber)?.int64Value ?? 0, a[.modificationDate] as? Date ?? .distantPast))
            }
        }
        return out
    }

    private func rescan() -> Int64 {
        let total = files().reduce(0) { $0 + $1.size }
        used.withLock { $0 = total }
        return total
    }

    /// Removes the least recently used chunks until the cache is at 90 % of its limit.
    private func evict() {
        var all = files().sorted { $0.modified < $1.modified }
        var total = all.reduce(0) { $0 + $1.size }
        var removed = 0
        while total > maxBytes * 9 / 10, !all.isEmpty {
            let f = all.removeFirst()
            if (try? FileManager.default.removeItem(atPath: f.path)) != nil {
                total -= f.size
                removed += 1
            }
        }
        used.withLock { $0 = total }
        logger.info("history cache trimmed", metadata: ["removed_chunks": "\(removed)", "bytes": "\(total)"])
    }
}
