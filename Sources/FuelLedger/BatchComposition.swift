/// One supplier batch's share of what is in a tank.
public struct BatchShare: Hashable, Codable, Sendable {
    /// The batch / quality-certificate number; ``BatchComposition/unknownBatch`` for fuel of unknown
    /// origin (in the tank before the first recorded delivery), `no-batch:BILL` for a delivery
    /// that carried no batch number.
    public var batch: String
    public var supplier: String?
    public var fraction: Double

    public init(batch: String, supplier: String?, fraction: Double) {
        self.batch = batch
        self.supplier = supplier
        self.fraction = fraction
    }
}

/// The batch mix of a well-mixed underground tank (design, "Fuel traceability"): it changes only
/// at deliveries, where the fuel already there (in proportion to its batches) and the delivered
/// batch combine by volume; sales take every batch in proportion and leave the mix as it was.
public struct BatchComposition: Hashable, Codable, Sendable {
    public static let unknownBatch = "unknown"
    /// Shares below this are dropped (and the rest renormalised): after ~20 deliveries a batch is
    /// below a millionth of the tank, and keeping it would let the mix grow without bound.
    public static let smallestShare = 1e-6

    /// Shares in descending fraction order (ties by batch), summing to 1.
    public private(set) var shares: [BatchShare]

    /// A tank of fuel of unknown origin: how every tank starts.
    public static let unknown = BatchComposition(shares: [BatchShare(batch: unknownBatch, supplier: nil, fraction: 1)])

    public init(shares: [BatchShare]) {
        self.shares = shares
        normalise()
    }

    /// The batch name a delivery enters the tank under.
    public static func batchName(batch: String?, billNo: String) -> String { batch ?? "no-batch:\(billNo)" }

    /// The mix after `deliveredL` litres of `batch` from `supplier` went into a tank holding
    /// `volumeBeforeL` litres of this mix (both at 20 °C). An unknown or negative volume before
    /// counts as empty: the delivery is then the whole tank.
    public func afterDelivery(batch: String, supplier: String?, deliveredL: Double, volumeBeforeL: Double?) -> BatchComposition {
        let before = max(0, volumeBeforeL ?? 0), added = max(0, deliveredL)
        guard before + added > 0 else { return self }
        let keep = before / (before + added)
        var byBatch: [String: BatchShare] = [:]
        for s in shares where keep > 0 { byBatch[s.batch] = BatchShare(batch: s.batch, supplier: s.supplier, fraction: s.fraction * keep) }
        byBatch[batch, default: BatchShare(batch: batch, supplier: supplier, fraction: 0)].fraction += added / (before + added)
        return BatchComposition(shares: Array(byBatch.values))
    }

    /// The share of `batch`, 0 when it is not in the tank.
    public func fraction(of batch: String) -> Double { shares.first { $0.batch == batch }?.fraction ?? 0 }

    private mutating func normalise() {
        shares = shares.filter { $0.fraction >= Self.smallestShare && $0.fraction.isFinite }
        let total = shares.reduce(0) { $0 + $1.fraction }
        guard total > 0 else {
            shares = Self.unknown.shares
            return
        }
        for i in shares.indices { shares[i].fraction /= total }
        shares.sort { $0.fraction != $1.fraction ? $0.fraction > $1.fraction : $0.batch < $1.batch }
    }
}
