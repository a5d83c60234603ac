/// Ordinary least squares from accumulated sufficient statistics (XᵀX, Xᵀy, yᵀy, n), so a rolling
/// window is a sum of per-day summaries and the detector's state stays small.
struct LeastSquares: Hashable, Sendable, Codable {
    var k: Int
    var xtx: [Double]
    var xty: [Double]
    var yty = 0.0
    var n = 0

    init(k: Int) {
        self.k = k
        xtx = Array(repeating: 0, count: k * k)
        xty = Array(repeating: 0, count: k)
    }

    mutating func add(x: [Double], y: Double) {
        precondition(x.count == k)
        for i in 0..<k {
            xty[i] += x[i] * y
            for j in 0..<k { xtx[i * k + j] += x[i] * x[j] }
        }
        yty += y * y
        n += 1
    }

    mutating func add(_ other: LeastSquares) {
        guard other.k == k else { return }
        for i in xtx.indices { xtx[i] += other.xtx[i] }
        for i in xty.indices { xty[i] += other.xty[i] }
        yty += other.yty
        n += other.n
    }

    struct Fit: Hashable, Sendable {
        /// Coefficients; nil for a column without data (left out of the fit).
        var beta: [Double?]
        /// Standard errors, same indexing.
        var se: [Double?]
        /// Covariance of two fitted coefficients.
        var covariance: [[Double]]
        var residualSD: Double
        var n: Int
    }

    /// The fit, leaving out columns with no data; nil when there are too few rows or the system is singular.
    func fit() -> Fit? {
        let used = (0..<k).filter { xtx[$0 * k + $0] > 1e-9 }
        let m = used.count
        guard m > 0, n > m + 2 else { return nil }
        guard let inverse = inverted(used.map { i in used.map { j in xtx[i * k + j] } }) else { return nil }
        let b = used.map { xty[$0] }
        let beta = (0..<m).map { r in (0..<m).reduce(0.0) { $0 + inverse[r][$1] * b[$1] } }
        let explained = (0..<m).reduce(0.0) { $0 + beta[$1] * b[$1] }
        let rss = max(0, yty - explained)
        let sigma2 = rss / Double(n - m)
        var fullBeta = [Double?](repeating: nil, count: k)
        var fullSE = [Double?](repeating: nil, count: k)
        var cov = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        for (r, i) in used.enumerated() {
            fullBeta[i] = beta[r]
            fullSE[i] = (sigma2 * max(0, inverse[r][r])).squareRoot()
            for (c, j) in used.enumerated() { cov[i][j] = sigma2 * inverse[r][c] }
        }
        return Fit(beta: fullBeta, se: fullSE, covariance: cov, residualSD: sigma2.squareRoot(), n: n)
    }
}
