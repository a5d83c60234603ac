import FuelModel

/// A flat list of figures as a detector's state stores it: one JSON string of the figures' shortest
/// round-trip decimal forms separated by commas (`"1762000000000000,17285.2,,-3.5e-05,1800*48"`; an
/// empty field is a figure the source did not give, `v*n` the figure v n times in a row), instead of
/// a JSON array of numbers.
///
/// Why not the array: a state is encoded at every detection pass that commits — the daemon's largest
/// own cost at 10,000 records/s (issue 19) — and Foundation's JSONEncoder spends its time boxing every
/// number of every array into its value tree, not formatting it. As one string of `Double.description`s
/// (Swift's exact shortest form, which `Double(_:)` reads back to the same bits) a 16-day station's
/// state encodes in about half the time, at the same size (`fuelwarden bench state`: 1.3–2.1 → 0.76–1.1 ms).
/// States stored as arrays decode too.
struct FigureList: Hashable, Sendable {
    var values: [Double?]

    init(_ values: [Double]) { self.values = values }
    init(optional values: [Double?]) { self.values = values }

    /// The figures, none of them missing; nil if one is.
    var figures: [Double]? {
        var out: [Double] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let v else { return nil }
            out.append(v)
        }
        return out
    }

    var text: String {
        var s = ""
        s.reserveCapacity(values.count * 12)
        var i = 0
        while i < values.count {
            if i > 0 { s.append(",") }
            guard let v = values[i] else {
                i += 1
                continue
            }
            // A whole number (epochs, days, microseconds, counts) without ".0": as short as the JSON number it replaces.
            if v == v.rounded(.towardZero), abs(v) < 9_007_199_254_740_992, !(v == 0 && v.sign == .minus) {
                s.append(Self.whole(Int64(v)))
            } else {
                s.append(v.description)
            }
            // A run of one figure as `figure*count`: a gauge read on a fixed clock keeps the same
            // interval dozens of times (48 × "1800," was a kilobyte of a four-tank station's state).
            var run = 1
            while i + run < values.count, let w = values[i + run], w.bitPattern == v.bitPattern { run += 1 }
            if run >= Self.shortestRun {
                s.append("*")
                s.append(run.description)
                i += run
            } else {
                i += 1
            }
        }
        return s
    }

    /// A whole number, its trailing zeros as an exponent when that is shorter (`-4797e3` for
    /// −4,797,000: figures rounded to a few significant digits, and microsecond clocks, end in zeros).
    static func whole(_ n: Int64) -> String {
        let digits = n.description
        var zeros = 0
        for c in digits.utf8.reversed() {
            guard c == UInt8(ascii: "0") else { break }
            zeros += 1
        }
        guard zeros >= 3, zeros < digits.utf8.count else { return digits }
        return String(digits.dropLast(zeros)) + "e" + zeros.description
    }

    /// Runs this long or longer are stored as `figure*count`.
    static let shortestRun = 3
    /// The longest run read back: far above any list a state keeps (the longest hold a few thousand).
    static let longestRun = 1_000_000

    /// The figures of `text`; nil if a field is not a number.
    init?(text: Substring) {
        var values: [Double?] = []
        if !text.isEmpty {
            // Split on the bytes: splitting a String by Characters costs more than reading the numbers.
            for field in text.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                if field.isEmpty {
                    values.append(nil)
                } else if let star = field.firstIndex(of: UInt8(ascii: "*")) {
                    // A run: bounded so a corrupt count cannot allocate without limit.
                    guard let v = Double(Substring(field[..<star])), let n = Int(Substring(field[field.index(after: star)...])),
                          n >= 1, n <= Self.longestRun else { return nil }
                    values.append(contentsOf: repeatElement(Double?.some(v), count: n))
                } else if let v = Double(Substring(field)) {
                    values.append(v)
                } else {
                    return nil
                }
            }
        }
        self.values = values
    }
}

extension FigureList: Codable {
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            guard let list = FigureList(text: text[...]) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "figures: a field of \"\(text.prefix(60))\" is not a number")
            }
            self = list
        } else {
            // The layout before: a JSON array of numbers (and nulls).
            values = try c.decode([Double?].self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if encoder.userInfo[.figuresAsArrays] as? Bool == true {
            try c.encode(values)
        } else {
            try c.encode(text)
        }
    }
}

extension CodingUserInfoKey {
    /// `true`: a state's figures are encoded as JSON arrays of numbers, the layout builds before
    /// 2026-12-07 read (`detect.state_figures_as_text: false`, while such a build may run again).
    public static let figuresAsArrays = CodingUserInfoKey(rawValue: "fuelwarden.figuresAsArrays")!
}

extension SingleValueDecodingContainer {
    /// Figures stored as a ``FigureList`` (or the array of numbers before it), none missing.
    func decodeFigures() throws -> [Double] {
        guard let figures = try decode(FigureList.self).figures else {
            throw DecodingError.dataCorruptedError(in: self, debugDescription: "figures: one is missing")
        }
        return figures
    }
}

extension SingleValueEncodingContainer {
    /// Stores `figures` as a ``FigureList``.
    mutating func encodeFigures(_ figures: [Double]) throws { try encode(FigureList(figures)) }
}

/// A state's list of figures stored as a ``FigureList`` (one string) instead of a JSON array: for the
/// rolling windows of numbers the rules keep (a gauge's recent second differences and intervals, the
/// inventory method's noise and cumulative litres). Arrays stored before decode too.
@propertyWrapper
struct Figures: Hashable, Sendable, Codable {
    var wrappedValue: [Double]

    init(wrappedValue: [Double]) { self.wrappedValue = wrappedValue }

    init(from decoder: any Decoder) throws { wrappedValue = try decoder.singleValueContainer().decodeFigures() }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeFigures(wrappedValue)
    }
}
