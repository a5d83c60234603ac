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
        guard let previous = Digest32(hex: expected.previousHash), previous.count == 32,
              let last = Digest32(hex: expected.lastHash), last.count == 32 else {
            result.problems.append("\(expected.file): previous_hash or last_hash in the manifest is not 32 bytes of hex")
            return result
        }
        var verifier = ChainVerifier(suite: suite, after: expected.firstSeq - 1, hash: previous)
        var digest = SHA256()
        var broken: String?
        do {
            try FileLines.read(path, chunks: { digest.update(data: $0) }) { bytes in
                guard broken == nil else { return true }  // read on: the digest covers the whole file
                do {
                    let parsed = try HistoryLine(bytes)
                    try verifier.check(parsed.link(previous: verifier.hash))
                    result.records += 1
                } catch {
                    broken = "line \(result.records + 1): \(error)"
                }
                return true
            }
        } catch {
            result.problems.append("\(expected.file): cannot be read (\(error))")
            return result
        }
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
