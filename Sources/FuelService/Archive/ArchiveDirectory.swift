import FuelLedger
import FuelStore
import Foundation

/// The archived months under a directory (`ledger.archive_directory`), read back for proofs: a
/// station's archived records and link hashes come from its files, in chain order across months.
/// The manifests are read on each call (proofs of archived records are rare; the files may move).
public struct ArchiveDirectory: ArchivedChainSource {
    public let root: String

    public init(root: String) { self.root = root }

    /// Why the archive cannot answer (a file missing or not matching its manifest).
    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The station's files, by first seq, with their directories.
    func stretches(of station: String) throws -> [(path: String, entry: ArchiveManifest.Station)] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root) else { throw Unreadable(description: "the archive \(root) cannot be read") }
        var out: [(String, ArchiveManifest.Station)] = []
        for name in names {
            let dir = (root as NSString).appendingPathComponent(name)
            guard let data = fm.contents(atPath: (dir as NSString).appendingPathComponent(ArchiveManifest.fileName)),
                  let manifest = try? ArchiveManifest.decode(data) else { continue }
            for e in manifest.stations where e.station == station && !e.file.contains("..") {
                out.append(((dir as NSString).appendingPathComponent(e.file), e))
            }
        }
        return out.sorted { $0.1.firstSeq < $1.1.firstSeq }
    }

    public func linkHashes(station: String, through: Int64) throws -> [Digest32] {
        var out: [Digest32] = []
        out.reserveCapacity(Int(max(0, through)))
        for (path, entry) in try stretches(of: station) where entry.firstSeq <= through {
            guard entry.firstSeq == Int64(out.count) + 1 else {
                throw Unreadable(description: "the archive of \(station) has no records \(out.count + 1)…\(entry.firstSeq - 1)")
            }
            var failure: (any Error)?
            try FileLines.read(path) { bytes in
                do {
                    let line = try HistoryLine(bytes)
                    out.append(line.hash)
                    return line.chainSeq < through
                } catch {
                    failure = error
                    return false
                }
            }
            if let failure { throw Unreadable(description: "\(path): \(failure)") }
        }
        guard out.count == Int(through) else {
            throw Unreadable(description: "the archive of \(station) holds \(out.count) records, the chain archived \(through)")
        }
        return out
    }

    public func record(station: String, seq: Int64) throws -> (body: String, previous: Digest32, hash: Digest32)? {
        guard let (path, entry) = try stretches(of: station).first(where: { $0.entry.firstSeq <= seq && seq <= $0.entry.lastSeq }) else { return nil }
        guard var previous = Digest32(hex: entry.previousHash) else { throw Unreadable(description: "\(path): the manifest's previous_hash is not hex") }
        var found: (String, Digest32, Digest32)?
        var failure: (any Error)?
        try FileLines.read(path) { bytes in
            do {
                let line = try HistoryLine(bytes)
                if line.chainSeq == seq {
                    found = (String(decoding: line.body, as: UTF8.self), previous, line.hash)
                    return false
                }
                previous = line.hash
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw Unreadable(description: "\(path): \(failure)") }
        return found
    }
}
