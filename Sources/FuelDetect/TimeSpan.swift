import FuelModel

/// A stretch of data time, `from` up to `to`. Stored as the two-element array `[from, to]` (the
/// form detector states have always used, so states saved before keep decoding).
public struct TimeSpan: Hashable, Sendable, Codable {
    public var from: Timestamp
    public var to: Timestamp

    public init(from: Timestamp, to: Timestamp) {
        self.from = from
        self.to = to
    }

    /// Whether the two spans share any time (touching ends do not).
    public func overlaps(from start: Timestamp, to end: Timestamp) -> Bool { from < end && to > start }

    /// A bare instant (how gauge rises were once kept) decodes as a span of no length.
    public init(from decoder: any Decoder) throws {
        if let instant = try? decoder.singleValueContainer().decode(Timestamp.self) {
            self.init(from: instant, to: instant)
            return
        }
        var c = try decoder.unkeyedContainer()
        self.init(from: try c.decode(Timestamp.self), to: try c.decode(Timestamp.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(from)
        try c.encode(to)
    }
}
