import FuelModel

/// A device's SM4 keys over time (HJ 212-2025 §6.4; rotated with CN 1014). The newest key is the
/// one in force; the key it replaced stays usable for an overlap, so packets already encrypted
/// (or buffered for a resend) under it still decrypt while the device switches. A key offered to
/// the device and not yet confirmed is `pending`: it is tried last until the device uses it or
/// confirms it.
public struct HJ212KeyRing: Hashable, Sendable {
    /// Where a key came from: configuration, or a CN 1014 exchange.
    public enum Origin: String, Sendable, Hashable, Codable {
        /// `sm4_key` in the feeds file.
        case feedsFile = "feeds_file"
        /// `feeds.hj212.key_file`.
        case keyFile = "key_file"
        /// The device announced it (CN 1014 from the device, encrypted under its previous key).
        case device
        /// The platform gave it to the device (CN 1014 command) and the device confirmed it.
        case platform
    }

    /// One key and when it came into force (nil: from configuration without a date; its age is
    /// counted from when the daemon first saw it).
    public struct Key: Hashable, Sendable {
        public var bytes: [UInt8]
        public var since: Timestamp?
        public var origin: Origin

        public init(bytes: [UInt8], since: Timestamp?, origin: Origin) {
            self.bytes = bytes
            self.since = since
            self.origin = origin
        }
    }

    /// Keys in force order, oldest first.
    public private(set) var keys: [Key] = []
    /// A key the platform offered with CN 1014 that the device has not confirmed yet.
    public var pending: Key?

    public init(keys: [Key] = []) {
        for k in keys { adopt(k) }
    }

    /// The key in force.
    public var current: Key? { keys.last }

    /// Adds a key as the newest (in order of `since`; a key without a date goes first). The same
    /// bytes again only fill in a missing date. Answers whether the ring changed.
    @discardableResult
    public mutating func adopt(_ key: Key) -> Bool {
        if let i = keys.firstIndex(where: { $0.bytes == key.bytes }) {
            guard keys[i].since == nil, key.since != nil else { return false }
            keys[i].since = key.since
            keys.sort { ($0.since?.microseconds ?? .min) < ($1.since?.microseconds ?? .min) }
            return true
        }
        keys.append(key)
        keys.sort { ($0.since?.microseconds ?? .min) < ($1.since?.microseconds ?? .min) }
        if pending?.bytes == key.bytes { pending = nil }
        return true
    }

    /// The keys a packet received at `now` may be encrypted with, most likely first: the key in
    /// force, each older key whose successor came into force less than `overlapSeconds` ago, then a
    /// pending one.
    public func usable(now: Timestamp, overlapSeconds: Double) -> [Key] {
        guard !keys.isEmpty else { return pending.map { [$0] } ?? [] }
        var out = [keys[keys.count - 1]]
        var i = keys.count - 1
        while i > 0, let successorSince = keys[i].since, successorSince.seconds(to: now) < overlapSeconds {
            out.append(keys[i - 1])
            i -= 1
        }
        if let pending { out.append(pending) }
        return out
    }

    /// Seconds the key in force has been in force at `now` (nil without a key or its date).
    public func age(now: Timestamp) -> Double? {
        current?.since.map { $0.seconds(to: now) }
    }
}

extension HJ212 {
    /// Names under which a CN 1014 packet's CP carries the new key. The standard's text names it
    /// one way, implementations another; each of these is read.
    public static let keyItemNames = ["NewKey", "SecretKey", "SM4Key", "EncryptKey", "Key"]

    /// The new 16-byte key in a (decrypted) CN 1014 packet: 32 hexadecimal digits under one of
    /// ``keyItemNames``; throws when there is none or it is not a key.
    public static func announcedKey(in packet: Packet) throws(DecodeError) -> [UInt8] {
        guard packet.cn == "1014" else { throw DecodeError(kind: .field, message: "CN \(packet.cn ?? "-") does not change a key") }
        for name in keyItemNames {
            guard let text = packet.items.first(where: { $0.0.lowercased() == name.lowercased() })?.1 else { continue }
            guard text.count == 32, let bytes = Hex.decode(text) else {
                throw DecodeError(kind: .field, message: "CN 1014: \(name) must be 32 hexadecimal digits (a 16-byte SM4 key)")
            }
            return bytes
        }
        throw DecodeError(kind: .field, message: "CN 1014 without a new key (\(keyItemNames.joined(separator: ", ")))")
    }

    /// The platform's CN 1014 command giving a device its next key (the caller frames it with
    /// ``frame(dataSegment:encryptBlocks:as:)`` under the key in force, so only the device can read it).
    /// Flag asks for an answer: the device confirms with 9011 and 9012.
    public static func keyCommand(qn: String, mn: String, password: String, newKey: [UInt8]) -> String {
        let hex = newKey.map { String(Hex.text(UInt16($0)).suffix(2)) }.joined()
        return ["QN=\(qn)", "ST=91", "CN=1014", "PW=\(password)", "MN=\(mn)", "Flag=\(Version.v2025.answerFlag | 1)", "CP=&&NewKey=\(hex)&&"]
            .joined(separator: ";")
    }

    /// The platform's execution answer (CN 9012) to a device's request, in its edition.
    public static func executionResult(to p: Packet, succeeded: Bool) -> [UInt8] {
        let fields = ["QN=\(p.qn ?? "")", "ST=91", "CN=9012", "PW=\(p.password ?? "")", "MN=\(p.mn ?? "")", "Flag=\(p.version.answerFlag)",
                      "CP=&&ExeRtn=\(succeeded ? 1 : 2)&&"]
        return frame(dataSegment: fields.joined(separator: ";"))
    }
}
