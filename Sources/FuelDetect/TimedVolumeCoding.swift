import FuelModel

/// How timed volumes are stored in a detector's state: a flat list of figures — start in
/// microseconds, duration in microseconds, litres — instead of an object with two RFC 3339 times.
/// A busy station's tanks keep every sale since their last reading pending, and with the keyed
/// layout those were a quarter of a 24-hour coarse station's state (over the 32 KB budget). The
/// figures are exact (microseconds are integers far below 2⁵³), so a state read back is the state
/// written; the old keyed layout still decodes.
extension TimedVolume {
    public init(from decoder: any Decoder) throws {
        if let figures = try? decoder.singleValueContainer().decodeFigures() {
            guard let v = TimedVolume(figures: figures[...]) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "timed volume: expected start, duration and litres"))
            }
            self = v
            return
        }
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(from: try c.decode(Timestamp.self, forKey: .from), to: try c.decode(Timestamp.self, forKey: .to),
                  litres: try c.decode(Double.self, forKey: .litres))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeFigures(figures)
    }

    private enum Keys: String, CodingKey { case from, to, litres }

    /// Start and duration (µs) and litres.
    var figures: [Double] { [Double(from.microseconds), Double(to.microseconds - from.microseconds), litres] }

    /// The volume of `figures` (start and duration in µs, litres), or nil if they are not three
    /// finite figures with whole microseconds.
    init?(figures v: ArraySlice<Double>) {
        guard v.count == 3, let start = Int64(exactly: v[v.startIndex]), let duration = Int64(exactly: v[v.startIndex + 1]),
              duration >= 0, v[v.startIndex + 2].isFinite else { return nil }
        self.init(from: Timestamp(microseconds: start), to: Timestamp(microseconds: start + duration), litres: v[v.startIndex + 2])
    }
}

/// A sale from one of a tank's nozzles (by index) still waiting for a reading, stored as the
/// nozzle's index followed by the volume's figures; the old keyed layout still decodes.
enum NozzleVolumeFigures {
    private enum Keys: String, CodingKey { case nozzle, volume }

    static func decode(_ decoder: any Decoder) throws -> (nozzle: Int, volume: TimedVolume) {
        if let figures = try? decoder.singleValueContainer().decodeFigures() {
            guard let first = figures.first, let nozzle = Int(exactly: first), nozzle >= 0,
                  let volume = TimedVolume(figures: figures.dropFirst()) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "pending sale: expected nozzle, start, duration and litres"))
            }
            return (nozzle, volume)
        }
        let c = try decoder.container(keyedBy: Keys.self)
        return (try c.decode(Int.self, forKey: .nozzle), try c.decode(TimedVolume.self, forKey: .volume))
    }

    static func encode(nozzle: Int, volume: TimedVolume, to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeFigures([Double(nozzle)] + volume.figures)
    }
}

extension TankBalanceRule.PendingSale {
    init(from decoder: any Decoder) throws {
        let (nozzle, volume) = try NozzleVolumeFigures.decode(decoder)
        self.init(nozzle: nozzle, volume: volume)
    }

    func encode(to encoder: any Encoder) throws { try NozzleVolumeFigures.encode(nozzle: nozzle, volume: volume, to: encoder) }
}

extension InventoryRegression.Sale {
    init(from decoder: any Decoder) throws {
        let (nozzle, volume) = try NozzleVolumeFigures.decode(decoder)
        self.init(nozzle: nozzle, volume: volume)
    }

    func encode(to encoder: any Encoder) throws { try NozzleVolumeFigures.encode(nozzle: nozzle, volume: volume, to: encoder) }
}
