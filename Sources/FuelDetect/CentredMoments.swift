import FuelModel

/// Weighted means and centred cross-products of a few variables — what a least-squares fit needs
/// of a group of observations, kept without the observations. Added to one at a time (weighted
/// Welford) and merged group with group (Chan, Golub and LeVeque), both of which stay accurate
/// where raw sums of squares of litres and hours would cancel catastrophically.
///
/// Hand-written because no kept Swift library offers streaming weighted covariance; the updates
/// are the textbook ones and are tested against a direct computation.
struct CentredMoments: Hashable, Sendable {
    /// Observations added, and the sum of their weights.
    private(set) var count = 0
    private(set) var weight = 0.0
    /// Weighted means, one per variable.
    private(set) var mean: [Double]
    /// Σ w (v − mean)(v − mean)ᵀ, upper triangle by rows.
    private(set) var centred: [Double]

    init(variables p: Int) {
        mean = Array(repeating: 0, count: p)
        centred = Array(repeating: 0, count: p * (p + 1) / 2)
    }

    var variables: Int { mean.count }

    /// Index of (i, j) in the upper triangle.
    private func at(_ i: Int, _ j: Int) -> Int {
        let (a, b) = i <= j ? (i, j) : (j, i)
        return a * variables - a * (a - 1) / 2 + (b - a)
    }

    /// The centred cross-product of variables i and j.
    func centred(_ i: Int, _ j: Int) -> Double { centred[at(i, j)] }

    mutating func add(_ v: [Double], weight w: Double) {
        precondition(v.count == variables)
        guard w > 0 else { return }
        count += 1
        let total = weight + w
        let delta = zip(v, mean).map { $0 - $1 }
        let share = weight * w / total
        for i in 0..<variables {
            mean[i] += w / total * delta[i]
            for j in i..<variables { centred[at(i, j)] += share * delta[i] * delta[j] }
        }
        weight = total
    }

    mutating func merge(_ other: CentredMoments) {
        guard other.variables == variables, other.weight > 0 else { return }
        guard weight > 0 else {
            self = other
            return
        }
        let total = weight + other.weight
        let delta = zip(other.mean, mean).map { $0 - $1 }
        let share = weight * other.weight / total
        for i in 0..<variables {
            mean[i] += other.weight / total * delta[i]
            for j in i..<variables { centred[at(i, j)] += other.centred[at(i, j)] + share * delta[i] * delta[j] }
        }
        weight = total
        count += other.count
    }

    /// Σ w (v − c)(v − c)ᵀ about another centre `c` (the group's epoch mean, say), as a full matrix
    /// appended row by row to `out`.
    func appendCrossProducts(about c: [Double], to out: inout [Double]) {
        for i in 0..<variables {
            let di = mean[i] - c[i]
            for j in 0..<variables { out.append(centred(i, j) + weight * di * (mean[j] - c[j])) }
        }
    }

    /// `x` to `digits` significant digits (what a stored figure needs, not every bit of it).
    static func round(_ x: Double, _ digits: Int) -> Double {
        guard x != 0, x.isFinite else { return x }
        var exponent = digits - 1
        var magnitude = abs(x)
        while magnitude >= 10 { magnitude /= 10; exponent -= 1 }
        while magnitude < 1 { magnitude *= 10; exponent += 1 }
        var scale = 1.0
        for _ in 0..<abs(exponent) { scale *= 10 }
        return exponent >= 0 ? (x * scale).rounded() / scale : (x / scale).rounded() * scale
    }
}

extension CentredMoments: Codable {
    /// The figures in a flat list — count, weight, means, centred products — so a stored group costs
    /// its figures and no keys.
    var figures: [Double] { [Double(count), weight] + mean + centred }

    init?(figures values: [Double]) {
        // 2 + p + p(p+1)/2 figures.
        var p = 0
        while 2 + p + p * (p + 1) / 2 < values.count { p += 1 }
        guard p > 0, 2 + p + p * (p + 1) / 2 == values.count, values[0] >= 0 else { return nil }
        count = Int(values[0])
        weight = values[1]
        mean = Array(values[2..<(2 + p)])
        centred = Array(values[(2 + p)...])
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let m = Self(figures: try c.decodeFigures()) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "centred moments: the figures fit no variable count")
        }
        self = m
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeFigures(figures)
    }
}
