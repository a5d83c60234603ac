import FuelModel

/// Push lines for a station's tank T1 sold from by nozzle N1 over whole local days: a 100 L sale
/// every half hour, a gauge reading every `readingMinutes`, and on `lossDay` (0-based) a loss of
/// 480 L beyond the sales; then the next day's first readings, so the last day is judged.
enum StationDays {
    static func lines(days: Int, lossDay: Int?, readingMinutes: Int = 30, firstSeq: Int = 1,
                      start: Timestamp = Timestamp(rfc3339: "2026-11-01T00:10:00+08:00")!) -> [String] {
        var lines: [String] = []
        var stock = 18_000.0
        func add(_ body: String) { lines.append("{\"seq\":\(firstSeq + lines.count),\(body)}") }
        func reading(_ at: Timestamp) {
            add(#""kind":"tank_reading","tank":"T1","at":"\#(at.rfc3339)","volume_l":\#(stock),"tc_volume_l":\#(stock),"temperature_c":20"#)
        }
        let perDay = 24 * 60 / readingMinutes
        for i in 0..<(days * perDay) {
            let at = start.adding(seconds: Double(i * readingMinutes * 60))
            let day = i / perDay
            if (i * readingMinutes) % 30 == 0 {
                add(#""kind":"sale","nozzle":"N1","grade":"92","volume_l":100,"unit_price":7.85,"amount":785,"started_at":"\#(at.rfc3339)","ended_at":"\#(at.adding(seconds: 60).rfc3339)""#)
                stock -= 100 + (day == lossDay ? 10 : 0)
            }
            reading(at.adding(seconds: 300))
        }
        for minutes in [0.0, 30, 60, 90] { reading(start.adding(seconds: Double(days) * 86_400 + minutes * 60)) }
        return lines
    }
}
