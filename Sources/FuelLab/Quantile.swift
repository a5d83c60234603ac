extension Array where Element == Double {
    /// The q-quantile (nearest rank below) of the values, nil when there are none. Sorts a copy.
    package func quantile(_ q: Double) -> Double? {
        guard !isEmpty else { return nil }
        let s = sorted()
        return s[Swift.min(s.count - 1, Int(Double(s.count - 1) * q))]
    }
}
