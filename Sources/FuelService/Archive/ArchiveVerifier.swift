import Crypto
import FuelLedger
import FuelModel
import Foundation

/// Checks an archive directory offline (`fuelwarden verify --archive DIR`): every period's manifest,
/// each station file against it (digest, chain recomputed), each period's signed checkpoint
/// (signature with the regulator's key, heads covering the period), and the periods joined end to
/// end per station from seq 1 on. Its answer also gives where each station's archived chain ends,
/// which the database's anchors must equal.
public struct ArchiveVerifier: Sendable {
    public struct Report: Sendable {
        public var periods: [String] = []
        public var stations = Set<String>()
        public var records: Int64 = 0
        /// Per station, its last archived record: seq and hex hash.
        public var lastArchived: [String: (seq: Int64, hash: String)] = [:]
        public var problems: [String] = []
    }

    public let root: String
    /// The checkpoint signer's public key as the regulator was given it (nil: each file's own).
    public let trustedKey: String?

    public init(root: String, trustedKey: String? = nil) {
        self.root = root
        self.trustedKey = trustedKey
    }

    public func verify() -> Report {
        var report = Report()
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root) else {
            report.problems.append("\(root): cannot be read")
            return report
        }
        var manifests: [(dir: String, manifest: ArchiveManifest)] = []
        for name in names.sorted() {
            let dir = (root as NSString).appendingPathComponent(name)
            let path = (dir as NSString).appendingPathComponent(ArchiveManifest.fileName)
            guard fm.fileExists(atPath: path) else { continue }
            guard let data = fm.contents(atPath: path), let m = try? ArchiveManifest.decode(data) else {
                report.problems.append("\(name)/\(ArchiveManifest.fileName): not a manifest")
                continue
            }
            manifests.append((dir, m))
        }
        if manifests.isEmpty { report.problems.append("\(root): no archived period (no */\(ArchiveManifest.fileName))") }
        // Oldest first: the period from before partitioning, then by end.
        manifests.sort { ($0.manifest.startsAt == nil ? 0 : 1, $0.manifest.endsAt) < ($1.manifest.startsAt == nil ? 0 : 1, $1.manifest.endsAt) }
        for (dir, m) in manifests {
            report.periods.append(m.period)
            guard let suite = LedgerSuite(rawValue: m.suite) else {
                report.problems.append("\(m.period): suite \(m.suite) is unknown")
                continue
            }
            let heads = checkCheckpoint(m, dir: dir, into: &report)
            for s in m.stations.sorted(by: { $0.station < $1.station }) {
                report.stations.insert(s.station)
                if s.file.contains("..") || s.file.hasPrefix("/") {
                    report.problems.append("\(m.period): \(s.file) leaves the period's directory")
                    continue
                }
                let checked = StationFileCheck.check(path: (dir as NSString).appendingPathComponent(s.file), expected: s, suite: suite)
                report.records += checked.records
                report.problems += checked.problems.map { "\(m.period)/\($0)" }
                // Joined to the station's stretch in the period before (or the chain's start).
                let before = report.lastArchived[s.station] ?? (0, HashChain.genesis.hexString)
                if s.firstSeq != before.seq + 1 || s.previousHash.lowercased() != before.hash.lowercased() {
                    report.problems.append("\(m.period)/\(s.file): begins at seq \(s.firstSeq) after \(s.previousHash.prefix(16))…, the archive before it ends at seq \(before.seq) with \(before.hash.prefix(16))…")
                }
                if let heads, (heads[s.station] ?? 0) < s.lastSeq {
                    report.problems.append("\(m.period): the checkpoint does not cover station \(s.station) up to seq \(s.lastSeq)")
                }
                report.lastArchived[s.station] = (s.lastSeq, s.lastHash.lowercased())
            }
        }
        return report
    }

    /// The period's checkpoint file: its digest, its signature, its tree; answers its heads by station.
    private func checkCheckpoint(_ m: ArchiveManifest, dir: String, into report: inout Report) -> [String: Int64]? {
        let path = (dir as NSString).appendingPathComponent(m.checkpoint.file)
        guard !m.checkpoint.file.contains(".."), let data = FileManager.default.contents(atPath: path) else {
            report.problems.append("\(m.period): checkpoint \(m.checkpoint.file) cannot be read")
            return nil
        }
        if Array(SHA256.hash(data: data)).hexString != m.checkpoint.sha256.lowercased() {
            report.problems.append("\(m.period): the checkpoint file's SHA-256 is not the manifest's")
        }
        guard let file = try? CheckpointFile.decode(data) else {
            report.problems.append("\(m.period): \(m.checkpoint.file) is not a checkpoint")
            return nil
        }
        report.problems += file.problems(trustedKey: trustedKey).map { "\(m.period): checkpoint: \($0)" }
        if file.suite != nil, file.suite != m.suite {
            report.problems.append("\(m.period): the checkpoint is under \(file.suite ?? ""), the records under \(m.suite)")
        }
        return Dictionary(file.heads.map { ($0.station, $0.seq) }, uniquingKeysWith: max)
    }
}
