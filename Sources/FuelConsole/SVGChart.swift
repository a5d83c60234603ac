import FuelStore
import Foundation

/// A tank's gauge chart drawn by the daemon as SVG path data (no chart library to download): per
/// pixel column a vertical stroke from the lowest to the highest reading, a line through each
/// column's last reading, and a marker at each delivery. Pure: columns in, numbers out.
struct SVGChart: Sendable, Equatable {
    static let width = 720.0, height = 200.0, top = 10.0, bottom = 20.0

    /// `M x y L x y …` through the columns' last readings.
    var line: String
    /// `M x y1 V y2 …`: each column's range.
    var ranges: String
    /// Delivery markers' x.
    var deliveries: [Double]
    /// The volume scale's ends (litres) and how many columns hold readings.
    var low: Double
    var high: Double
    var points: Int

    /// `columns` of `count` over the chart's width; `deliveryShares` are the deliveries' positions
    /// as shares (0…1) of the window.
    init(columns: [TankSeriesColumn], count: Int, deliveryShares: [Double]) {
        let lo = columns.map(\.min).min() ?? 0, hi = columns.map(\.max).max() ?? 1
        // A flat series still gets a band to sit in.
        let span = max(hi - lo, max(1, abs(hi) * 0.001))
        low = lo
        high = lo + span
        points = columns.count
        let plot = Self.height - Self.top - Self.bottom
        func x(_ c: Int) -> Double { (Double(c) - 0.5) / Double(max(count, 1)) * Self.width }
        func y(_ v: Double) -> Double { Self.top + (1 - (v - lo) / span) * plot }
        func f(_ v: Double) -> String { ChartNumber.text(v) }
        line = columns.enumerated().map { i, c in "\(i == 0 ? "M" : "L")\(f(x(c.column))) \(f(y(c.last)))" }.joined(separator: " ")
        ranges = columns.filter { $0.max > $0.min }.map { c in "M\(f(x(c.column))) \(f(y(c.max)))V\(f(y(c.min)))" }.joined(separator: " ")
        deliveries = deliveryShares.filter { (0...1).contains($0) }.map { ($0 * Self.width * 10).rounded() / 10 }
    }
}
