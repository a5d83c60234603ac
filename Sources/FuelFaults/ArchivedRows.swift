import FuelLedger
import Foundation

/// The records of archived months as the census counts them: read straight from the archive's
/// station files (`*/records/<station>.ndjson`), independently of the daemon's own reader.
struct ArchivedRows {
    struct Row {
        var chainSeq: Int64
        var source: String
        var sourceSeq: Int64
        var contentHash: [UInt8]
    }

    /// Each station's archived rows in chain order.
    static func read(root: String, stations: [String]) throws -> [String: [Row]] {
        let fm = FileManager.default
        let months = try fm.contentsOfDirectory(atPath: root).map { (root as NSString).appendingPathComponent($0) }
        var out: [String: [Row]] = [:]
        for station in stations {
            var rows: [Row] = []
            for month in months {
                let path = (month as NSString).appendingPathComponent(ArchiveLayout.stationFile(station))
                guard let text = fm.contents(atPath: path) else { continue }
                for line in text.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                    let l = try HistoryLine(line)
                    rows.append(Row(chainSeq: l.chainSeq, source: l.source, sourceSeq: l.sourceSeq, contentHash: HashChain.contentHash(l.body)))
                }
            }
            out[station] = rows.sorted { $0.chainSeq < $1.chainSeq }
        }
        return out
    }

    /// Nil when the rows are seqs 1…n without holes or repeats.
    static func shapeProblem(_ rows: [Row]) -> String? {
        for (i, r) in rows.enumerated() where r.chainSeq != Int64(i) + 1 {
            return "archived chain seq \(r.chainSeq) where \(i + 1) was due"
        }
        return nil
    }
}
