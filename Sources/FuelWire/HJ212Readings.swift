import FuelModel

/// How one HJ 212 device's factor codes map onto a station's vapour-recovery readings.
///
/// Vapour-recovery monitors use device-specific factor codes for A/L ratio and tank pressure, so
/// those come from configuration per device. Processing-device concentration defaults to `a24088`
/// (non-methane hydrocarbons, mg/m³ in HJ 212-2017). Codes not mapped are kept as raw values.
public struct HJ212FactorMap: Hashable, Sendable {
    /// Factor code → nozzle whose A/L ratio it reports.
    public var alRatio: [String: String]
    /// Factor code → tank whose pressure (Pa) it reports.
    public var tankPressure: [String: String]
    /// Factor code → multiplier to g/m³ of a processing-device concentration.
    public var concentration: [String: Double]

    public init(alRatio: [String: String] = [:], tankPressure: [String: String] = [:], concentration: [String: Double] = ["a24088": 0.001]) {
        self.alRatio = alRatio
        self.tankPressure = tankPressure
        self.concentration = concentration
    }
}

extension HJ212 {
    /// Command numbers that carry monitoring data (real-time, minute, hour, day, status).
    public static let dataCommands: Set<String> = ["2011", "2051", "2061", "2031", "2021", "2041"]

    /// `yyyyMMddHHmmss` with optional milliseconds, read in the device's local zone.
    public static func time(_ text: String, clock: LocalClock) -> Timestamp? {
        let b = Array(text.utf8)
        guard b.count == 14 || b.count == 17 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? { decimal(b[from..<(from + len)]) }
        guard let y = num(0, 4), let mo = num(4, 2), let d = num(6, 2), let h = num(8, 2), let mi = num(10, 2), let s = num(12, 2),
              (1...12).contains(mo), d >= 1, d <= CivilDate.daysIn(month: mo, year: y), h < 24, mi < 60, s < 60
        else { return nil }
        let ms = b.count == 17 ? (num(14, 3) ?? 0) : 0
        return clock.instant(CivilDate(year: y, month: mo, day: d), hour: h, minute: mi, second: s, microsecond: Int64(ms) * 1000)
    }

    /// The vapour-recovery readings a data packet carries: one per mapped A/L or pressure factor,
    /// one for the processing-device concentration, and one holding every other factor as raw
    /// `code-Suffix=value` text. Values are `Rtd`, else `Avg`; a flag other than `N` is kept raw.
    /// Packets without monitoring data (commands, acknowledgements, an empty CP) carry none.
    public static func vapourReadings(_ p: Packet, device: String, map: HJ212FactorMap, clock: LocalClock) throws(DecodeError) -> [VapourReading] {
        guard let cn = p.cn, dataCommands.contains(cn), !p.items.isEmpty else { return [] }  // empty CP: a keep-alive
        guard let dt = p.dataTime else { throw DecodeError(kind: .field, message: "CP.DataTime is missing") }
        guard let at = time(dt, clock: clock) else {
            throw DecodeError(kind: .field, message: "CP.DataTime \(dt.debugDescription) is not yyyyMMddHHmmss[zzz]")
        }
        var out: [VapourReading] = []
        var raw: [String] = []
        var concentration: Double?
        var codes: [String] = []
        var values: [String: [String: String]] = [:]
        for (k, v) in p.items where k != "DataTime" {
            guard let dash = k.lastIndex(of: "-"), dash != k.startIndex else { raw.append("\(k)=\(v)"); continue }
            let code = String(k[..<dash])
            if values[code] == nil { codes.append(code) }
            values[code, default: [:]][String(k[k.index(after: dash)...])] = v
        }
        for code in codes {
            let suffixes = values[code]!
            let mapped = map.alRatio[code] != nil || map.tankPressure[code] != nil || map.concentration[code] != nil
            guard mapped, let text = suffixes["Rtd"] ?? suffixes["Avg"] else {
                for (s, v) in suffixes.sorted(by: { $0.key < $1.key }) { raw.append("\(code)-\(s)=\(v)") }
                continue
            }
            guard let value = Double(text), value.isFinite else {
                throw DecodeError(kind: .field, message: "CP.\(code): \(text.debugDescription) is not a number")
            }
            if let flag = suffixes["Flag"], flag != "N" { raw.append("\(code)-Flag=\(flag)") }
            if let nozzle = map.alRatio[code] {
                out.append(VapourReading(nozzle: nozzle, device: device, at: at, alRatio: value))
            } else if let tank = map.tankPressure[code] {
                out.append(VapourReading(tank: tank, device: device, at: at, pressurePa: value))
            } else if let scale = map.concentration[code] {
                concentration = value * scale
            }
        }
        if concentration != nil || !raw.isEmpty {
            out.append(VapourReading(device: device, at: at, concentrationGM3: concentration, factors: raw))
        }
        return out
    }

    /// Answer codes of a 9011 request answer (QnRtn).
    public enum RequestAnswer: Int, Sendable {
        case ready = 1, rejected = 2, wrongPassword = 3, unknownMN = 4, wrongST = 5, wrongFlag = 6, wrongQN = 7,
             wrongCN = 8, wrongCRC = 9, unknownError = 100
    }

    /// A 9011 request answer (QnRtn) in the sender's edition, e.g. refusing a packet whose header could be read.
    public static func refusal(qn: String?, mn: String?, password: String?, answer: RequestAnswer, version: Version = .v2017) -> [UInt8] {
        let fields = ["QN=\(qn ?? "")", "ST=91", "CN=9011", "PW=\(password ?? "")", "MN=\(mn ?? "")", "Flag=\(version.answerFlag)", "CP=&&QnRtn=\(answer.rawValue)&&"]
        return frame(dataSegment: fields.joined(separator: ";"))
    }

    /// Reads the header of a frame whose CRC or body failed, so the refusal can name QN and MN.
    public static func bestEffortHeader(_ frame: [UInt8]) -> (qn: String?, mn: String?, password: String?, wantsReply: Bool, version: Version) {
        guard frame.count > 6 else { return (nil, nil, nil, false, .v2017) }
        let text = String(decoding: frame[6...], as: UTF8.self)
        var f: [String: String] = [:]
        for part in text.split(separator: ";").prefix(12) {
            guard let eq = part.firstIndex(of: "="), !part.hasPrefix("CP") else { continue }
            f[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        let flag = Int(f["Flag"] ?? "")
        return (f["QN"], f["MN"], f["PW"], (flag ?? 0) & 1 == 1, Version.of(flag: flag) ?? .v2017)
    }
}

/// Raw device bytes as printable text for quarantine: ASCII kept, everything else `\xNN`.
public enum PrintableBytes {
    /// `bytes` as text, at most `limit` bytes of them.
    public static func text(_ bytes: some Collection<UInt8>, limit: Int = 65_536) -> String {
        text(Array(bytes), limit: limit)
    }

    /// `bytes` as text, at most `limit` bytes of them. (Concrete: the generic form, called from
    /// another module, would run unspecialised, a witness call per byte, on every packet.)
    public static func text(_ bytes: [UInt8], limit: Int = 65_536) -> String {
        let shown = bytes.prefix(limit)
        // Most packets are printable ASCII without a backslash: taken as they are.
        if shown.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E && $0 != 0x5C }) {
            var out = String(decoding: shown, as: UTF8.self)
            if bytes.count > limit { out += "…(\(bytes.count - limit) more bytes)" }
            return out
        }
        let hex = Array("0123456789ABCDEF".utf8)
        var escaped: [UInt8] = []
        escaped.reserveCapacity(shown.count * 2)
        for b in shown {
            switch b {
            case 0x20...0x7E where b != 0x5C: escaped.append(b)
            case 0x5C: escaped.append(0x5C); escaped.append(0x5C)
            case 0x0D: escaped.append(0x5C); escaped.append(UInt8(ascii: "r"))
            case 0x0A: escaped.append(0x5C); escaped.append(UInt8(ascii: "n"))
            default:
                escaped.append(0x5C); escaped.append(UInt8(ascii: "x"))
                escaped.append(hex[Int(b >> 4)]); escaped.append(hex[Int(b & 15)])
            }
        }
        var out = String(decoding: escaped, as: UTF8.self)
        if bytes.count > limit { out += "…(\(bytes.count - limit) more bytes)" }
        return out
    }
}
