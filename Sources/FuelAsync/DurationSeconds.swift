extension Duration {
    /// The duration in seconds as a floating-point number (for rates, printing and SQL intervals).
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// The duration for a message: `30 s`, `0.5 s`, `1.25 s`.
    public var secondsText: String {
        let s = inSeconds
        if s == s.rounded(), abs(s) < 1e15 { return "\(Int64(s)) s" }
        return "\((s * 1000).rounded() / 1000) s"
    }
}
