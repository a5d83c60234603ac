import Foundation
import FuelLab
import FuelClient
import FuelLedger
import FuelModel
import FuelWire

/// One push as the client saw it.
package struct PushAttempt: Sendable {
    package var seqs: [Int64]
    package var variants: [Int]
    package var began: ContinuousClock.Instant
    /// HTTP status, or nil when the request failed in transport (connection refused or cut, timeout).
    package var status: Int?
    package var retryAfter: String?
    package var verdict: PushVerdict?
    package var seconds: Double
    package var error: String?

    /// Sends `seqs` (in these variants) as one push.
    package static func send(station: String, key: String, seqs: [Int64], variants: [Int], lines: SyntheticLines,
                            client: FuelwardenClient, timeoutSeconds: Int64 = 30) async -> PushAttempt {
        let body = zip(seqs, variants).map { lines.line(seq: $0, variant: $1) }.joined(separator: "\n") + "\n"
        let began = ContinuousClock.now
        var a = PushAttempt(seqs: seqs, variants: variants, began: began, seconds: 0)
        do {
            let r = try await client.exchange(.POST, "/v1/stations/\(station)/records", token: key, body: body,
                                              contentType: "application/x-ndjson", timeoutSeconds: timeoutSeconds)
            a.status = r.status
            a.retryAfter = r.retryAfter
            if r.status == 200 { a.verdict = try? PushVerdict(jsonText: r.body) } else { a.error = r.body }
        } catch {
            a.error = "\(error)"
        }
        a.seconds = (ContinuousClock.now - began) / .seconds(1)
        return a
    }
}

/// A station's collector as the fault tests drive it: numbers its records, pushes them in batches,
/// remembers exactly which seqs got a 200, and resends what was not acknowledged, oldest first.
package struct Collector: Sendable {
    package let station: String
    let key: String
    let lines: SyntheticLines
    /// Records made so far: seqs 1…generated.
    package private(set) var generated: Int64 = 0
    /// Seq → the variant a 200 acknowledged.
    package private(set) var acknowledged: [Int64: Int] = [:]
    /// Seqs not acknowledged yet, in order.
    package private(set) var unacknowledged: [Int64] = []
    /// The variant to send for a seq (0 unless a conflict was made on it).
    private var variant: [Int64: Int] = [:]
    /// Rejections nobody asked for (the synthetic records are valid).
    package private(set) var unexpectedRejections: [String] = []
    /// Lines the daemon rejected as seq conflicts.
    package private(set) var conflictsReported = 0
    /// Lines the daemon answered as duplicates (committed before, acknowledgement lost or resent).
    package private(set) var duplicatesReported = 0
    package private(set) var attempts: [PushAttempt] = []

    package init(station: String, key: String, lines: SyntheticLines) {
        self.station = station
        self.key = key
        self.lines = lines
    }

    package var isComplete: Bool { unacknowledged.isEmpty }

    /// The next push: unacknowledged records first, then `fresh` new ones, at most `size` in all.
    package mutating func nextBatch(size: Int, fresh: Bool = true) -> [Int64] {
        var seqs = Array(unacknowledged.prefix(size))
        while fresh, seqs.count < size {
            generated += 1
            unacknowledged.append(generated)
            seqs.append(generated)
        }
        return seqs
    }

    /// Seq conflicts made on purpose (one seq sent with two contents at once).
    package private(set) var conflictsMade = 0

    /// A new seq, not yet sent; `conflict` counts it as a seq conflict made on purpose.
    package mutating func newSeq(conflict: Bool = false) -> Int64 {
        if conflict { conflictsMade += 1 }
        generated += 1
        unacknowledged.append(generated)
        return generated
    }

    package func variants(_ seqs: [Int64]) -> [Int] { seqs.map { variant[$0] ?? 0 } }

    package func send(_ seqs: [Int64], variants: [Int]? = nil, to client: FuelwardenClient, timeoutSeconds: Int64 = 30) async -> PushAttempt {
        await PushAttempt.send(station: station, key: key, seqs: seqs, variants: variants ?? self.variants(seqs), lines: lines,
                               client: client, timeoutSeconds: timeoutSeconds)
    }

    /// Takes in an attempt's outcome: a 200 acknowledges every line it did not reject.
    package mutating func settle(_ a: PushAttempt) {
        attempts.append(a)
        guard a.status == 200, let verdict = a.verdict else { return }
        duplicatesReported += verdict.duplicates
        var rejectedLines = Set<Int>()
        var refused = Set<Int64>()
        for r in verdict.rejected {
            rejectedLines.insert(r.line)
            if r.error.contains("seq conflict") {
                conflictsReported += 1
                // The other variant is what the ledger holds: send that one from now on.
                if r.line - 1 < a.seqs.count { variant[a.seqs[r.line - 1]] = 1 - a.variants[r.line - 1] }
            } else {
                // A collector does not resend a line the daemon refused: it is reported, not retried.
                unexpectedRejections.append("seq \(r.seq.map(String.init) ?? "?"): \(r.error)")
                if r.line - 1 < a.seqs.count { refused.insert(a.seqs[r.line - 1]) }
            }
        }
        for (i, seq) in a.seqs.enumerated() where !rejectedLines.contains(i + 1) {
            if let prior = acknowledged[seq], prior != a.variants[i] {
                unexpectedRejections.append("seq \(seq): acknowledged twice with different content")
            }
            acknowledged[seq] = a.variants[i]
        }
        let acked = Set(acknowledged.keys)
        unacknowledged.removeAll { acked.contains($0) || refused.contains($0) }
    }
}
