/// The inverse of a small square matrix by Gauss–Jordan elimination with partial pivoting; nil when
/// it is singular. The regressions here have a handful of columns (a tank's nozzles and time), so a
/// dependency on a linear-algebra package (LAPACK is not on every machine the daemon runs on) would
/// buy nothing.
func inverted(_ matrix: [[Double]]) -> [[Double]]? {
    let m = matrix.count
    guard m > 0 else { return nil }
    var a = matrix.enumerated().map { r, row in row + (0..<m).map { $0 == r ? 1.0 : 0.0 } }
    for col in 0..<m {
        var pivot = col
        for r in col..<m where abs(a[r][col]) > abs(a[pivot][col]) { pivot = r }
        guard abs(a[pivot][col]) > 1e-12 * max(1, abs(matrix[col][col])) else { return nil }
        a.swapAt(col, pivot)
        let p = a[col][col]
        for c in 0..<(2 * m) { a[col][c] /= p }
        for r in 0..<m where r != col {
            let f = a[r][col]
            if f != 0 { for c in 0..<(2 * m) { a[r][c] -= f * a[col][c] } }
        }
    }
    return a.map { Array($0[m...]) }
}
