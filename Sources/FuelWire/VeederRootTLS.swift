import FuelModel

/// Veeder-Root TLS-3xx/4xx serial protocol (computer format), as spoken over TCP (port 10001).
///
/// Command: SOH, optional 6-character security code, function code (`i201` computer format,
/// `I201` display format), 2-digit tank (`00` = all), optional data. Computer-format reply: SOH,
/// the echoed function code and tank, `YYMMDDHHmm`, data, `&&`, 4 hex checksum digits, ETX. The
/// checksum is the two's complement of the 16-bit sum of every byte from SOH through `&&`.
public enum VeederRootTLS {
    public static let soh: UInt8 = 0x01
    public static let etx: UInt8 = 0x03

    /// Encodes a command, e.g. `command("i201", tank: 0)` → `SOH i20100`.
    public static func command(_ function: String, tank: Int = 0, securityCode: String? = nil) -> [UInt8] {
        var out: [UInt8] = [soh]
        if let securityCode { out += Array(securityCode.utf8) }
        out += Array(function.utf8)
        out += Array((tank < 10 ? "0\(tank)" : "\(tank % 100)").utf8)
        return out
    }

    /// The reply checksum: the two's complement of the 16-bit sum of the bytes (SOH through `&&`).
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var sum: UInt16 = 0
        for b in bytes { sum &+= UInt16(b) }
        return ~sum &+ 1
    }

    /// Why a reply cannot be read.
    public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// A framed computer-format reply.
    public enum Reply: Hashable, Sendable {
        /// `9999FF1B`: the console does not know the command.
        case unknownCommand
        /// Function code with tank (`i20100`), the console's time (`YYMMDDHHmm`) and the data.
        case data(function: String, time: String, body: [UInt8])
    }

    /// Decodes one reply from SOH to ETX, checking framing and checksum.
    public static func decodeReply(_ frame: some Collection<UInt8>) throws(DecodeError) -> Reply {
        let b = Array(frame)
        guard b.first == soh, b.last == etx else { throw DecodeError(message: "reply is not framed by SOH … ETX") }
        let inner = b[1..<(b.count - 1)]
        if Array(inner) == Array("9999FF1B".utf8) { return .unknownCommand }
        guard inner.count >= 6 + 10 + 6 else { throw DecodeError(message: "reply of \(b.count) bytes is too short") }
        let end = b.count - 1
        guard b[end - 6] == UInt8(ascii: "&"), b[end - 5] == UInt8(ascii: "&") else {
            throw DecodeError(message: "reply does not end with && and a checksum")
        }
        guard let sent = Hex.uint16(b[(end - 4)..<end]) else { throw DecodeError(message: "checksum is not 4 hex digits") }
        let computed = checksum(b[0..<(end - 4)])
        guard sent == computed else {
            throw DecodeError(message: "checksum \(Hex.text(sent)) does not match the reply (computed \(Hex.text(computed)))")
        }
        let function = String(decoding: b[1..<7], as: UTF8.self)
        guard function.first == "i" || function.first == "I" else {
            throw DecodeError(message: "function code \(function) is not a computer-format (i) reply")
        }
        let time = String(decoding: b[7..<17], as: UTF8.self)
        guard time.allSatisfy(\.isNumber) else { throw DecodeError(message: "time field \(time) is not YYMMDDHHmm") }
        return .data(function: function, time: time, body: Array(b[17..<(end - 6)]))
    }

    /// Frames a reply body with its checksum (used by the emulator and tests).
    public static func encodeReply(function: String, time: String, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [soh] + Array(function.utf8) + Array(time.utf8) + body + Array("&&".utf8)
        out += Array(Hex.text(checksum(out)).utf8)
        out.append(etx)
        return out
    }

    /// Units a console is set up to report in.
    public enum Units: String, Sendable, Hashable, Codable {
        /// Gallons, inches, °F.
        case usCustomary = "us"
        /// Litres, millimetres, °C.
        case metric
    }

    /// One tank of an `i201` in-tank inventory reply, converted to litres, mm and °C.
    public struct Inventory: Hashable, Sendable {
        public var tank: Int
        public var product: Character
        /// Status bits, least significant first: delivery in progress, leak test in progress, invalid height.
        public var status: UInt16
        public var volumeL: Double?
        public var tcVolumeL: Double?
        public var ullageL: Double?
        public var heightMM: Double?
        public var waterMM: Double?
        public var temperatureC: Double?
        public var waterVolumeL: Double?

        public var deliveryInProgress: Bool { status & 1 != 0 }
        public var leakTestInProgress: Bool { status & 2 != 0 }
        public var invalidHeight: Bool { status & 4 != 0 }
    }

    /// Parses an `i201` body: per tank `TT` `p` `SSSS` `NN` and NN IEEE-754 floats in 8 hex digits
    /// (volume, TC volume, ullage, height, water, temperature, water volume).
    public static func parseInventory(_ body: [UInt8], units: Units) throws(DecodeError) -> [Inventory] {
        var r = BodyReader(body: body, function: "i201")
        let u = UnitConversion(units: units)
        var out: [Inventory] = []
        while !r.atEnd {
            let tank = try r.decimal(2, "tank number")
            let product = Character(Unicode.Scalar(try r.take(1, "product code of tank \(tank)").first!))
            let status = try r.hex(4, "status of tank \(tank)")
            let count = try r.hex(2, "field count of tank \(tank)")
            var values: [Double?] = []
            for f in 0..<count { values.append(try r.float("value \(f + 1) of tank \(tank)")) }
            func v(_ k: Int) -> Double? { k < values.count ? values[k] : nil }
            out.append(Inventory(tank: tank, product: product, status: UInt16(status), volumeL: u.volume(v(0)),
                                 tcVolumeL: u.volume(v(1)), ullageL: u.volume(v(2)), heightMM: u.length(v(3)),
                                 waterMM: u.length(v(4)), temperatureC: u.temperature(v(5)), waterVolumeL: u.volume(v(6))))
        }
        return out
    }
}
