#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FuelModel

extension VeederRootTLS {
    /// Converts console units to litres, mm and °C.
    struct UnitConversion {
        let units: Units
        func volume(_ v: Double?) -> Double? { v.map { units == .usCustomary ? $0 * 3.785411784 : $0 } }
        func length(_ v: Double?) -> Double? { v.map { units == .usCustomary ? $0 * 25.4 : $0 } }
        func temperature(_ v: Double?) -> Double? { v.map { units == .usCustomary ? ($0 - 32) * 5 / 9 : $0 } }
    }

    /// Reads the fixed-width fields of a computer-format body.
    struct BodyReader {
        let body: [UInt8]
        let function: String
        var i = 0

        var atEnd: Bool { i >= body.count }

        mutating func take(_ n: Int, _ what: String) throws(DecodeError) -> ArraySlice<UInt8> {
            guard i + n <= body.count else { throw DecodeError(message: "\(function) data truncated at byte \(i) (\(what))") }
            defer { i += n }
            return body[i..<(i + n)]
        }

        mutating func decimal(_ n: Int, _ what: String) throws(DecodeError) -> Int {
            let s = try take(n, what)
            guard let v = HJ212.decimal(s) else { throw DecodeError(message: "\(function) \(what) at byte \(i - n) is not decimal") }
            return v
        }

        mutating func hex(_ n: Int, _ what: String) throws(DecodeError) -> Int {
            let s = try take(n, what)
            guard let v = Hex.value(s) else { throw DecodeError(message: "\(function) \(what) at byte \(i - n) is not hex") }
            return Int(v)
        }

        /// An IEEE-754 single in 8 hex digits; non-finite values (FF800000 = −∞, NaN) mean "no value".
        mutating func float(_ what: String) throws(DecodeError) -> Double? {
            let s = try take(8, what)
            guard let bits = Hex.value(s) else { throw DecodeError(message: "\(function) \(what) at byte \(i - 8) is not 8 hex digits") }
            let f = Float(bitPattern: bits)
            return f.isFinite ? Double(f) : nil
        }

        /// `YYMMDDHHmm` as written by the console (its own clock and zone).
        mutating func consoleTime(_ what: String) throws(DecodeError) -> ConsoleTime {
            let s = try take(10, what)
            guard let t = ConsoleTime(s) else { throw DecodeError(message: "\(function) \(what) \(String(decoding: s, as: UTF8.self)) is not YYMMDDHHmm") }
            return t
        }
    }

    /// A console's `YYMMDDHHmm` time: local to the console, minute resolution.
    public struct ConsoleTime: Hashable, Sendable, CustomStringConvertible {
        public var date: CivilDate
        public var hour: Int
        public var minute: Int

        public init?(_ digits: some Collection<UInt8>) {
            guard digits.count == 10 else { return nil }
            let a = Array(digits)
            guard let yy = HJ212.decimal(a[0..<2][...]), let mo = HJ212.decimal(a[2..<4][...]), let dd = HJ212.decimal(a[4..<6][...]),
                  let hh = HJ212.decimal(a[6..<8][...]), let mi = HJ212.decimal(a[8..<10][...]),
                  (1...12).contains(mo), dd >= 1, dd <= CivilDate.daysIn(month: mo, year: 2000 + yy), hh < 24, mi < 60
            else { return nil }
            self.date = CivilDate(year: 2000 + yy, month: mo, day: dd)
            self.hour = hh
            self.minute = mi
        }

        public init?(_ text: String) { self.init(Array(text.utf8)) }

        /// The instant, reading the console's clock in `clock`'s zone.
        public func instant(in clock: LocalClock) -> Timestamp {
            clock.instant(date, hour: hour, minute: minute)
        }

        public var description: String { "\(date) \(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute)" }
    }

    /// One delivery of an `i202` delivery report, in litres, mm and °C.
    public struct GaugedDelivery: Hashable, Sendable {
        public var tank: Int
        public var product: Character
        public var start: ConsoleTime
        public var end: ConsoleTime
        public var startVolumeL: Double?
        public var startTCVolumeL: Double?
        public var startWaterMM: Double?
        public var startTemperatureC: Double?
        public var endVolumeL: Double?
        public var endTCVolumeL: Double?
        public var endWaterMM: Double?
        public var endTemperatureC: Double?
        public var startHeightMM: Double?
        public var endHeightMM: Double?

        public init(tank: Int, product: Character, start: ConsoleTime, end: ConsoleTime,
                    startVolumeL: Double?, startTCVolumeL: Double?, startWaterMM: Double?, startTemperatureC: Double?,
                    endVolumeL: Double?, endTCVolumeL: Double?, endWaterMM: Double?, endTemperatureC: Double?,
                    startHeightMM: Double?, endHeightMM: Double?) {
            (self.tank, self.product, self.start, self.end) = (tank, product, start, end)
            (self.startVolumeL, self.startTCVolumeL, self.startWaterMM, self.startTemperatureC) = (startVolumeL, startTCVolumeL, startWaterMM, startTemperatureC)
            (self.endVolumeL, self.endTCVolumeL, self.endWaterMM, self.endTemperatureC) = (endVolumeL, endTCVolumeL, endWaterMM, endTemperatureC)
            (self.startHeightMM, self.endHeightMM) = (startHeightMM, endHeightMM)
        }

        /// Gauged increase at 20 °C (falls back to gross volume when the console has no TC volume).
        public var increaseL: Double? {
            if let a = startTCVolumeL, let b = endTCVolumeL { return b - a }
            if let a = startVolumeL, let b = endVolumeL { return b - a }
            return nil
        }
    }

    /// Parses an `i202` body: per tank `TT` `p` `dd` (deliveries), then per delivery start and end
    /// `YYMMDDHHmm`, `NN` (hex field count) and NN floats: start volume, TC volume, water, temperature,
    /// end volume, TC volume, water, temperature, start height, end height.
    public static func parseDeliveries(_ body: [UInt8], units: Units) throws(DecodeError) -> [GaugedDelivery] {
        var r = BodyReader(body: body, function: "i202")
        let u = UnitConversion(units: units)
        var out: [GaugedDelivery] = []
        while !r.atEnd {
            let tank = try r.decimal(2, "tank number")
            let product = Character(Unicode.Scalar(try r.take(1, "product code").first!))
            let count = try r.decimal(2, "delivery count of tank \(tank)")
            for k in 0..<count {
                let start = try r.consoleTime("start of delivery \(k + 1) of tank \(tank)")
                let end = try r.consoleTime("end of delivery \(k + 1) of tank \(tank)")
                let n = try r.hex(2, "field count of delivery \(k + 1) of tank \(tank)")
                var v: [Double?] = []
                for f in 0..<n { v.append(try r.float("field \(f + 1) of delivery \(k + 1) of tank \(tank)")) }
                func at(_ j: Int) -> Double? { j < v.count ? v[j] : nil }
                out.append(GaugedDelivery(
                    tank: tank, product: product, start: start, end: end,
                    startVolumeL: u.volume(at(0)), startTCVolumeL: u.volume(at(1)), startWaterMM: u.length(at(2)),
                    startTemperatureC: u.temperature(at(3)), endVolumeL: u.volume(at(4)), endTCVolumeL: u.volume(at(5)),
                    endWaterMM: u.length(at(6)), endTemperatureC: u.temperature(at(7)), startHeightMM: u.length(at(8)),
                    endHeightMM: u.length(at(9))))
            }
        }
        return out
    }

    /// Active alarms of one tank from an `i205` status report.
    public struct TankAlarms: Hashable, Sendable {
        public var tank: Int
        /// Two-digit alarm type codes as the console sends them.
        public var codes: [String]

        /// Readable names for the codes a regulator cares about; unknown codes keep their number.
        public var names: [String] { codes.map { VeederRootTLS.tankAlarmNames[$0] ?? "tank alarm \($0)" } }
    }

    /// Tank alarm type codes of the TLS-3xx serial manual (function 205).
    public static let tankAlarmNames: [String: String] = [
        "01": "tank setup data warning", "02": "tank leak alarm", "03": "tank high water alarm",
        "04": "tank overfill alarm", "05": "tank low product alarm", "06": "tank sudden loss alarm",
        "07": "tank high product alarm", "08": "tank invalid fuel level alarm", "09": "tank probe out alarm",
        "10": "tank high water warning", "11": "tank delivery needed warning", "12": "tank maximum product alarm",
    ]

    /// Parses an `i205` body: per tank `TT`, `NN` (hex count of active alarms), then NN two-digit codes.
    public static func parseTankAlarms(_ body: [UInt8]) throws(DecodeError) -> [TankAlarms] {
        var r = BodyReader(body: body, function: "i205")
        var out: [TankAlarms] = []
        while !r.atEnd {
            let tank = try r.decimal(2, "tank number")
            let n = try r.hex(2, "alarm count of tank \(tank)")
            var codes: [String] = []
            for _ in 0..<n { codes.append(String(decoding: try r.take(2, "alarm code of tank \(tank)"), as: UTF8.self)) }
            out.append(TankAlarms(tank: tank, codes: codes))
        }
        return out
    }

    /// A display-format reply (`I…` commands): SOH, CRLF, the function code, the console's report
    /// text, ETX. There is no checksum; the text is what the console would print.
    public static func decodeDisplayReply(_ frame: some Collection<UInt8>) throws(DecodeError) -> (function: String, lines: [String]) {
        let b = Array(frame)
        guard b.first == soh, b.last == etx else { throw DecodeError(message: "reply is not framed by SOH … ETX") }
        let text = String(decoding: b[1..<(b.count - 1)], as: UTF8.self)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { String($0) }
        guard let first = lines.firstIndex(where: { !$0.trimmingSpaces.isEmpty }) else { throw DecodeError(message: "display reply is empty") }
        let function = lines[first].trimmingSpaces
        guard function.first == "I", function.count == 6 else {
            throw DecodeError(message: "display reply starts with \(function.debugDescription), not a function code like I20100")
        }
        return (function, Array(lines[(first + 1)...]))
    }

    /// Parses the `I201` in-tank inventory report (display format). Columns are found by the
    /// header line (`TANK PRODUCT VOLUME TC VOLUME ULLAGE HEIGHT WATER TEMP`), so consoles that
    /// print fewer columns still read; product names may contain spaces.
    public static func parseDisplayInventory(_ lines: [String], units: Units) throws(DecodeError) -> [Inventory] {
        guard let h = lines.firstIndex(where: { $0.contains("TANK") && $0.contains("PRODUCT") && $0.contains("VOLUME") }) else {
            throw DecodeError(message: "I201 report has no TANK PRODUCT … header line")
        }
        var header = lines[h].uppercased().replacingSpaces(of: "TC VOLUME", with: "TC_VOLUME")
        header = header.replacingSpaces(of: "WATER VOL", with: "WATER_VOL")
        let columns = header.split(separator: " ").map(String.init).dropFirst(2)  // TANK PRODUCT
        guard !columns.isEmpty else { throw DecodeError(message: "I201 header names no value columns") }
        let u = UnitConversion(units: units)
        var out: [Inventory] = []
        for (n, line) in lines[(h + 1)...].enumerated() {
            let tokens = line.split(separator: " ").map(String.init)
            guard let first = tokens.first, let tank = Int(first) else { continue }  // blank or trailer lines
            guard tokens.count >= 2 + columns.count else {
                throw DecodeError(message: "I201 line \(h + n + 2) (tank \(tank)) has \(tokens.count) fields, header needs \(2 + columns.count)")
            }
            let values = tokens.suffix(columns.count)
            var byName: [String: Double] = [:]
            for (name, text) in zip(columns, values) {
                guard let v = Double(text) else {
                    throw DecodeError(message: "I201 tank \(tank) column \(name): \(text.debugDescription) is not a number")
                }
                byName[name] = v
            }
            let product = tokens.dropFirst().dropLast(columns.count).joined(separator: " ")
            out.append(Inventory(
                tank: tank, product: product.first ?? " ", status: 0, volumeL: u.volume(byName["VOLUME"]),
                tcVolumeL: u.volume(byName["TC_VOLUME"]), ullageL: u.volume(byName["ULLAGE"]), heightMM: u.length(byName["HEIGHT"]),
                waterMM: u.length(byName["WATER"]), temperatureC: u.temperature(byName["TEMP"]),
                waterVolumeL: u.volume(byName["WATER_VOL"])))
        }
        guard !out.isEmpty else { throw DecodeError(message: "I201 report lists no tanks") }
        return out
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }

    func replacingSpaces(of phrase: String, with replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: phrase) {
            out += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
