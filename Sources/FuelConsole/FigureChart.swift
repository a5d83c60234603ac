import FuelModel

/// A daily figure drawn over a window of days as SVG path data: a dot per day, its 95 % interval as
/// a whisker, the band it is judged against as two stepped lines, and zero. Dots outside the band
/// are listed apart (with a tooltip) so the page can mark them; the others are one path. A window
/// longer than `maxSlots` days draws a slot per few days, each the worst of its days (the one
/// furthest outside, or nearest the edge of, its band), so a year weighs what two months do.
struct FigureChart: Sendable, Equatable {
    static let width = 720.0, height = 140.0, top = 8.0, bottom = 16.0
    static let maxSlots = 62

    struct Dot: Sendable, Equatable {
        var x: Double
        var y: Double
        /// The day and its value, for the dot's tooltip.
        var label: String
    }
    /// Dots outside their band, each with its tooltip.
    var dots: [Dot]
    /// The dots within their band, as one path of zero-length round-capped strokes.
    var inside: String
    /// Days a slot covers.
    var daysPerSlot: Int
    /// How many figures were drawn, and how many of them lie outside their band.
    var count: Int
    var outsideCount: Int
    /// `M x y1 V y2 …`: each figure's interval.
    var whiskers: String
    /// Stepped lines along the band's upper and lower ends (empty where the band is open).
    var bandHigh: String
    var bandLow: String
    /// The zero line's y, and the scale's ends.
    var zero: Double
    var low: Double
    var high: Double
    /// The window's first and last day, for the axis.
    var firstDay: CivilDate
    var lastDay: CivilDate

    /// `figures` of one subject, drawn over the `days` days that end with `through`.
    init(figures: [DailyFigure], through: CivilDate, days: Int, unit: String) {
        let first = through.daysSinceEpoch - Int64(days) + 1
        firstDay = CivilDate(daysSinceEpoch: first)
        lastDay = through
        let per = max(1, Int((Double(days) / Double(Self.maxSlots)).rounded(.up)))
        daysPerSlot = per
        let inWindow = figures.filter { $0.day.daysSinceEpoch >= first && $0.day <= through }
        count = inWindow.count
        outsideCount = inWindow.filter(Self.isOutside).count
        // The worst figure of each slot stands for it.
        func slot(_ d: CivilDate) -> Int64 { (d.daysSinceEpoch - first) / Int64(per) }
        let shown = Dictionary(grouping: inWindow) { slot($0.day) }
            .values.map { $0.max { Self.severity($0) < Self.severity($1) }! }.sorted { $0.day < $1.day }
        let ends: [Double] = shown.flatMap { (f: DailyFigure) -> [Double] in [f.value, f.low, f.high, f.bandLow, f.bandHigh].compactMap { $0 } } + [0]
        let lo = ends.min()!, hi = ends.max()!
        // A flat series still gets a band to sit in; a little room above and below.
        let pad = max((hi - lo) * 0.08, 1e-3)
        low = lo - pad
        high = hi + pad
        let plot = Self.height - Self.top - Self.bottom
        let (scaleLow, span) = (low, high - low)
        let slots = (days + per - 1) / per
        let width = Self.width / Double(max(slots, 1))
        func x(_ d: CivilDate) -> Double { (Double(slot(d)) + 0.5) * width }
        func y(_ v: Double) -> Double { Self.top + (1 - (v - scaleLow) / span) * plot }
        func f(_ v: Double) -> String { ChartNumber.text(v) }
        zero = (y(0) * 10).rounded() / 10
        dots = shown.filter(Self.isOutside).map { fig in
            Dot(x: (x(fig.day) * 10).rounded() / 10, y: (y(fig.value) * 10).rounded() / 10,
                label: "\(fig.day) \(ChartNumber.text(fig.value, digits: 3)) \(unit)")
        }
        inside = shown.filter { !Self.isOutside($0) }.map { "M\(f(x($0.day))) \(f(y($0.value)))h0" }.joined()
        whiskers = shown.compactMap { fig in
            guard let l = fig.low, let h = fig.high else { return nil }
            return "M\(f(x(fig.day))) \(f(y(h)))V\(f(y(l)))"
        }.joined(separator: " ")
        // Each day's band spans its slot, so a band that changes day to day draws as steps.
        func stepped(_ end: KeyPath<DailyFigure, Double?>) -> String {
            var parts: [String] = []
            var previous: CivilDate?
            for fig in shown {
                guard let v = fig[keyPath: end] else { previous = nil; continue }
                let left = x(fig.day) - width / 2, right = x(fig.day) + width / 2
                let joined = previous.map { slot($0) + 1 == slot(fig.day) } == true
                parts.append("\(joined ? "L" : "M")\(f(left)) \(f(y(v)))H\(f(right))")
                previous = fig.day
            }
            return parts.joined(separator: " ")
        }
        bandHigh = stepped(\.bandHigh)
        bandLow = stepped(\.bandLow)
    }

    static func isOutside(_ f: DailyFigure) -> Bool {
        f.bandHigh.map { f.value > $0 } == true || f.bandLow.map { f.value < $0 } == true
    }

    /// How far a figure is towards (above 0: beyond) the nearer end of its band, in band widths; its
    /// size where the band is open on both ends.
    static func severity(_ f: DailyFigure) -> Double {
        switch (f.bandLow, f.bandHigh) {
        case let (low?, high?): let half = max((high - low) / 2, 1e-9); return (abs(f.value - (low + high) / 2) - half) / half
        case let (nil, high?): return (f.value - high) / max(abs(high), 1e-9)
        case let (low?, nil): return (low - f.value) / max(abs(low), 1e-9)
        case (nil, nil): return abs(f.value)
        }
    }
}

/// Numbers in chart path data: one decimal (or `digits`), without `String(format:)`, which costs
/// microseconds a call on a chart of hundreds of points.
enum ChartNumber {
    static func text(_ v: Double, digits: Int = 1) -> String {
        var scale = 1
        for _ in 0..<max(digits, 0) { scale *= 10 }
        let n = Int((v * Double(scale)).rounded()), a = abs(n)
        let fraction = String(a % scale)
        let padded = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
        return "\(n < 0 ? "-" : "")\(a / scale)" + (digits > 0 ? ".\(padded)" : "")
    }
}
