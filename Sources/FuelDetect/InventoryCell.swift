import FuelModel

/// How a closed inventory cell is stored: its moments about variables that move little.
///
/// A cell's level moves by the litres sold — thousands in a busy epoch — and its litres move
/// almost in step with its hours, so its centred products are ~10⁷–10⁸ L² while what the fit reads
/// from them, the cell's residuals and how its sales depart from a steady rate, is a few hundred:
/// rounded to six significant figures each (the layout before), the products' rounding errors
/// (±50 L² and more) exceeded the residual sum of squares — a cell's own came out negative
/// (−52 L² on `bench state --profiles tenth-15m-24h`; a simulated busy epoch's was off by a median
/// 610 L² of ~140). Stored instead are the products of
///
///     x̃ₙ = xₙ − rₙ · hours      (each nozzle's litres less its steady rate rₙ = sold / hours),
///     hours,
///     y  = level + Σₙ xₙ        (the book-corrected level: moves by meter error, leak and noise),
///
/// an invertible change of variables whose products are small and far from collinear, to four
/// significant figures — the simulated epoch's residual then keeps to within 0.25 L² — turned back
/// into the level's and litres' when read (rₙ from the stored litres and hours, so the same bits).
/// With the litres, weight and level at the precision they are used at, and without the means the
/// fit never reads (a cell is its epoch, centred on its own means), a cell is ~100 characters
/// instead of ~160: what keeps a busy tenth-millimetre tank's 12-hour epochs within the state's
/// 32 KB (issue 13).
extension InventoryRegression.Cell {
    /// Significant figures of the stored products and weight.
    static let productDigits = 4
    /// Significant figures of the stored mean level: a litre in 10,000, for the chart's columns.
    static let levelDigits = 5

    /// The stored figures: epoch, day, hours, nozzles n, litres per nozzle (whole), count, weight,
    /// mean level, then the upper triangle (by rows) of the centred products of (x̃ per nozzle,
    /// hours, book-corrected level).
    var storedFigures: [Double] {
        let n = sold.count, p = moments.variables
        let storedHours = (hours * 1e3).rounded() / 1e3, storedSold = sold.map { $0.rounded() }
        var out: [Double] = [Double(epoch), Double(day), storedHours, Double(n)] + storedSold
        out += [Double(moments.count), CentredMoments.round(moments.weight, Self.productDigits),
                CentredMoments.round(moments.mean[p - 1], Self.levelDigits)]
        let change = Self.change(rates: Self.rates(sold: storedSold, hours: storedHours), inverse: false)
        let stored = Self.congruence(change, Self.full(triangle: moments.centred, variables: p), variables: p)
        return out + Self.triangle(of: stored, variables: p).map { CentredMoments.round($0, Self.productDigits) }
    }

    /// Every figure as it is: epoch, day, hours, n, litres per nozzle, then the moments' figures
    /// (the open cell's layout, and the closed cells' before this one, rounded to six figures).
    var exactFigures: [Double] { [Double(epoch), Double(day), hours, Double(sold.count)] + sold + moments.figures }

    /// A cell from its stored figures (``storedFigures``, or ``exactFigures``: then an ``exact`` one);
    /// nil if they fit neither.
    init?(storedFigures v: [Double]) {
        guard v.count >= 4, let n = Int(exactly: v[3]), n >= 0, n < 64, v.count > 4 + n else { return nil }
        let p = n + 2, triangle = p * (p + 1) / 2
        let sold = Array(v[4..<(4 + n)]), rest = Array(v[(4 + n)...])
        let moments: CentredMoments
        if rest.count == 3 + triangle {
            let back = Self.change(rates: Self.rates(sold: sold, hours: v[2]), inverse: true)
            let full = Self.congruence(back, Self.full(triangle: Array(rest[3...]), variables: p), variables: p)
            // count, weight, the means (zero but the level's: the fit never reads them), the products.
            guard let m = CentredMoments(figures: [rest[0], rest[1]] + Array(repeating: 0, count: p - 1) + [rest[2]]
                                         + Self.triangle(of: full, variables: p)) else { return nil }
            moments = m
        } else {
            guard let m = CentredMoments(figures: rest), m.variables == p else { return nil }
            self.init(epoch: Int(v[0]), day: Int64(v[1]), moments: m, sold: sold, hours: v[2], exact: true)
            return
        }
        self.init(epoch: Int(v[0]), day: Int64(v[1]), moments: moments, sold: sold, hours: v[2])
    }

    /// The symmetric p × p matrix (row by row) of an upper triangle stored by rows, as
    /// ``CentredMoments`` keeps its products.
    static func full(triangle: [Double], variables p: Int) -> [Double] {
        var out = [Double](repeating: 0, count: p * p)
        var k = 0
        for i in 0..<p {
            for j in i..<p {
                out[i * p + j] = triangle[k]
                out[j * p + i] = triangle[k]
                k += 1
            }
        }
        return out
    }

    /// The upper triangle, by rows, of a p × p matrix.
    static func triangle(of full: [Double], variables p: Int) -> [Double] {
        (0..<p).flatMap { i in (i..<p).map { full[i * p + $0] } }
    }

    /// Each nozzle's steady rate over the cell (L/h), zero for a cell without hours.
    static func rates(sold: [Double], hours: Double) -> [Double] {
        sold.map { hours > 0 ? $0 / hours : 0 }
    }

    /// The change of variables (row by row, p = nozzles + 2): (x, hours, level) → (x̃, hours, y), or
    /// its inverse.
    static func change(rates r: [Double], inverse: Bool) -> [Double] {
        let n = r.count, p = n + 2, h = n, y = n + 1
        var a = [Double](repeating: 0, count: p * p)
        for i in 0..<p { a[i * p + i] = 1 }
        let sign = inverse ? 1.0 : -1.0
        for i in 0..<n {
            a[i * p + h] = sign * r[i]  // x̃ = x − r·h;  x = x̃ + r·h
            a[y * p + i] = -sign        // y = L + Σx;  L = y − Σx̃ − (Σr)·h
        }
        if inverse { a[y * p + h] = -r.reduce(0, +) }
        return a
    }

    /// A · M · Aᵀ for p × p matrices row by row: the products of the changed variables.
    static func congruence(_ a: [Double], _ m: [Double], variables p: Int) -> [Double] {
        var am = [Double](repeating: 0, count: p * p)
        for i in 0..<p { for k in 0..<p where a[i * p + k] != 0 { for j in 0..<p { am[i * p + j] += a[i * p + k] * m[k * p + j] } } }
        var out = [Double](repeating: 0, count: p * p)
        for i in 0..<p { for j in 0..<p { for k in 0..<p where a[j * p + k] != 0 { out[i * p + j] += am[i * p + k] * a[j * p + k] } } }
        return out
    }
}

extension InventoryRegression.Cell: Codable {
    /// A flat list of figures (``storedFigures``, or ``exactFigures`` for an ``exact`` cell), so a
    /// stored cell costs its figures and no keys.
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let v = try c.decodeFigures()
        guard let cell = Self(storedFigures: v) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "inventory cell: \(v.count) figures do not fit")
        }
        self = cell
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeFigures(exact ? exactFigures : storedFigures)
    }
}
