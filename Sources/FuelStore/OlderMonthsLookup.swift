import Foundation

/// Which stretches of the ledger's older months (those before the dedupe's recent months) a resend
/// lookup reads, and for which of its keys. A month summarised by ``LedgerPeriods/summariseClosed(now:)``
/// is read for the keys whose seq lies within its station's and source's range there, and not at all
/// when none does; a month not summarised (yet) is read for every key. Adjacent months read for the
/// same keys are read in one statement, so an unsummarised ledger costs one statement, as before.
struct OlderMonthsLookup: Equatable {
    /// One older month as the database describes it.
    struct Month: Equatable {
        /// Received from (nil: from the beginning, the first period).
        var from: Date?
        /// Received before.
        var until: Date
        var summarised: Bool
        /// Of a summarised month, the indices of the keys its ranges can hold.
        var candidates: [Int]
    }

    /// A stretch of received time read for some keys: one statement, planned over its months only.
    struct Stretch: Equatable {
        var from: Date?
        var until: Date
        var keys: [Int]
    }

    var stretches: [Stretch]

    /// The stretches for `keyCount` keys over `months` (oldest first).
    init(months: [Month], keyCount: Int) {
        var out: [Stretch] = []
        var previousUntil: Date?
        for month in months {
            defer { previousUntil = month.until }
            let keys = month.summarised ? Array(Set(month.candidates)).sorted() : Array(0..<keyCount)
            guard !keys.isEmpty else { continue }
            if let last = out.last, last.keys == keys, let previousUntil, last.until == previousUntil, month.from == previousUntil {
                out[out.count - 1].until = month.until
            } else {
                out.append(Stretch(from: month.from, until: month.until, keys: keys))
            }
        }
        stretches = out
    }
}
