import Foundation

/// How busy a simulated station is and how its trade spreads over the day and its nozzles — what
/// decides how often its tanks are quiet (the quiet-segment leak test needs quiet stretches) and
/// how much each nozzle's meter can be judged by.
///
/// The default is the trade FuelSim always simulated (200 fills a day, nights at 35 % of the
/// daytime peak, nozzles of similar popularity) and draws nothing of its own, so runs without a
/// usage reproduce earlier ones.
public struct StationUsage: Sendable, Hashable, Codable {
    public var name: String
    /// Mean fills a day over the whole station (weekday/weekend and time of day vary it).
    public var fillsPerDay: Double = 200
    /// The night's rate as a share of the daytime peak: a motorway or city 24-hour station's tanks
    /// are never quiet for long.
    public var nightShare: Double = 0.35
    /// How many of the station's nozzles (the last ones of its registry) are rarely used, and the
    /// fills a day each of them gets (a premium grade's second nozzle, a truck lane).
    public var rareNozzles: Int = 0
    public var rareFillsPerDay: Double = 3

    public init(name: String) { self.name = name }

    /// The trade simulated so far.
    public static let ordinary = StationUsage(name: "ordinary")

    /// A busy 24-hour station: 700 fills a day, nights at 80 % of the peak.
    public static let busyAllDay: StationUsage = {
        var u = StationUsage(name: "busy-24h")
        u.fillsPerDay = 700
        u.nightShare = 0.8
        return u
    }()

    /// Ordinary trade, but two nozzles of each station get about three fills a day.
    public static let rareNozzles: StationUsage = {
        var u = StationUsage(name: "rare-nozzles")
        u.rareNozzles = 2
        return u
    }()

    /// Whether nozzle number `index` (0-based, of `count`) is one of the rarely used ones.
    public func isRare(nozzleIndex index: Int, of count: Int) -> Bool {
        rareNozzles > 0 && count > 1 && index >= count - min(rareNozzles, count - 1)
    }

    /// The shape of the day at `hour` (local, 0–24): `nightShare` at night, 1 at the mid-afternoon
    /// peak (the trade runs 05:00–22:00 above its night level).
    func diurnalShape(hour: Double) -> Double {
        nightShare + (1 - nightShare) * max(0, sin((hour - 5) / 17 * .pi))
    }

    /// What turns the shape into a multiple of the day's mean rate. 1.6 is the ordinary usage's as
    /// FuelSim always had it; the ratio of means is exactly 1 there, so ordinary runs stay draw for
    /// draw the same.
    var diurnalScale: Double { 1.6 * (Self.meanShape(nightShare: 0.35) / Self.meanShape(nightShare: nightShare)) }

    /// The day's mean of the shape: the sine arch over 17 of 24 hours averages 2/π.
    static func meanShape(nightShare: Double) -> Double {
        nightShare + (1 - nightShare) * 17 * 2 / .pi / 24
    }
}
