import Crypto
import FuelLedger
import Foundation

/// Reads one station file of an archived period and checks it against its manifest entry: the
/// file's SHA-256, every line's hash recomputed from the one before it (from `previous_hash`), the
/// sequences one after another from `first_seq` to `last_seq`, and the last hash. Streams the file
/// (a station-month can be a million lines).
struct StationFileCheck {
    struct Result {
        var records: Int64 = 0
        var problems: [String] = []
    }

    static func check(path: String, expected: ArchiveManifest.Station, suite: LedgerSuite) -> Result {
        var result = Result()
        guard let handle = FileHandle(forReadingAtPath: path) else {
            result.problems.append("\(expected.file): cannot be read")
            return result
        }
        defer { try? handle.close() }
        guard let previous = Digest32(hex: expected.previousHash), previous.count == 32,
              let last = Digest32(hex: expected.lastHash), last.count == 32 else {
            result.problems.append("\(expected.file): previous_hash or last_hash in the manifest is not 32 bytes of hex")
            return result
        }
        var verifier = ChainVerifier(suite: suite, after: expected.firstSeq - 1, hash: previous)
        var digest = SHA256()
        var pending: [UInt8] = []
        var broken: String?
        func line(_ bytes: ArraySlice<UInt8>) {
            guard broken == nil, !bytes.isEmpty else { return }
            do {
                let parsed = try HistoryLine(bytes)
                try verifier.check(parsed.link(previous: verifier.hash))
                result.records += 1
            } catch {
                broken = "line \(result.records + 1): \(error)"
            }
        }
        while true {
            let chunk: Data
            do {
                guard let c = try handle.read(upToCount: 1 << 20), !c.isEmpty else { break }
                chunk = c
            } catch {
                result.problems.append("\(expected.file): \(error)")
                return result
            }
            digest.update(data: chunk)
            pending.append(contentsOf: chunk)
            var start = 0
            while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                line(pending[start..<nl])
                start = nl + 1
            }
            pending.removeFirst(start)
        }
        line(pending[...])
        if Array(digest.finalize()).hexString != expected.sha256.lowercased() {
            result.problems.append("\(expected.file): its SHA-256 is not the manifest's (the file was changed)")
        }
        if let broken { result.problems.append("\(expected.file): chain broken at \(broken)") }
        if broken == nil {
            if verifier.position != expected.lastSeq || result.records != expected.records {
                result.problems.append("\(expected.file): \(result.records) records up to seq \(verifier.position), the manifest says \(expected.records) up to \(expected.lastSeq)")
            } else if verifier.hash != last {
                result.problems.append("\(expected.file): the last record hashes to \(verifier.hash.hexString.prefix(16))…, the manifest says \(expected.lastHash.prefix(16))…")
            }
        }
        return result
    }
}
