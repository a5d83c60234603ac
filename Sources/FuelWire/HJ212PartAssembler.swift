/// Reassembles HJ 212 packets split into parts (Flag bit 1, `PNUM` parts numbered `PNO` 1…PNUM):
/// a data segment may not exceed 1,024 characters, so a device with more to say sends several
/// packets sharing MN, CN and QN, each with a whole `CP=&&…&&` of its own. The parts' CP groups,
/// in PNO order, make the whole packet's CP.
///
/// Bounded in every direction a sender could abuse: parts per set (`maxParts`), sets waiting at
/// once (`maxSets`, per connection), characters per set (`maxCharacters`) and time (`maxAge`
/// seconds from a set's first part). What is refused or left incomplete is returned with its reason
/// for quarantine, never dropped silently. A pure state machine: the caller supplies the clock.
public struct HJ212PartAssembler: Sendable {
    public var maxParts: Int
    public var maxSets: Int
    public var maxCharacters: Int
    public var maxAge: Double

    struct Key: Hashable, Sendable {
        var mn: String
        var cn: String
        var qn: String
    }
    struct PartialSet: Sendable {
        var count: Int
        var parts: [Int: HJ212.Packet]
        var raw: [Int: String]
        var characters: Int
        var firstAt: Double
    }
    private var sets: [Key: PartialSet] = [:]
    private var order: [Key] = []

    public init(maxParts: Int = 64, maxSets: Int = 16, maxCharacters: Int = 256 * 1024, maxAge: Double = 120) {
        self.maxParts = maxParts
        self.maxSets = maxSets
        self.maxCharacters = maxCharacters
        self.maxAge = maxAge
    }

    /// What became of a packet handed in.
    public enum Outcome: Sendable {
        /// A whole packet: one that is not a part, or the set its part completed (parts merged).
        case whole(HJ212.Packet, raw: String)
        /// Kept until the set's other parts arrive.
        case waiting
        /// The part cannot belong to any set (its numbers are wrong, or a bound is reached).
        case refused(String)
    }

    /// A set given up on: its key and the raw parts that did arrive, with why.
    public struct Abandoned: Sendable {
        public var mn: String
        public var qn: String
        public var raw: String
        public var reason: String
    }

    /// Sets waiting for parts.
    public var pendingSets: Int { sets.count }

    /// Takes a decoded packet (`raw`: its text for quarantine) at time `now` (seconds).
    public mutating func add(_ p: HJ212.Packet, raw: String, now: Double) -> Outcome {
        guard p.isPart || p.field("PNUM") != nil || p.field("PNO") != nil else { return .whole(p, raw: raw) }
        guard let count = p.packetCount, let number = p.packetNumber else {
            return .refused("a split packet needs numeric PNUM and PNO (PNUM=\(p.field("PNUM") ?? "-"), PNO=\(p.field("PNO") ?? "-"))")
        }
        guard count >= 1, count <= maxParts else { return .refused("PNUM=\(count) is outside 1…\(maxParts)") }
        guard number >= 1, number <= count else { return .refused("PNO=\(number) is outside 1…PNUM=\(count)") }
        if count == 1 { return .whole(Self.merged([p]), raw: raw) }
        let key = Key(mn: p.mn ?? "", cn: p.cn ?? "", qn: p.qn ?? "")
        var set = sets[key] ?? PartialSet(count: count, parts: [:], raw: [:], characters: 0, firstAt: now)
        guard set.count == count else { return .refused("PNUM=\(count) differs from the set's PNUM=\(set.count) (QN \(key.qn))") }
        if sets[key] == nil {
            guard sets.count < maxSets else { return .refused("\(maxSets) split packets are already waiting for parts on this connection") }
            order.append(key)
        }
        if set.parts[number] == nil {
            set.characters += raw.count
            guard set.characters <= maxCharacters else {
                sets[key] = nil
                order.removeAll { $0 == key }
                return .refused("split packet QN \(key.qn) exceeds \(maxCharacters) characters")
            }
        }
        set.parts[number] = p  // a part sent again replaces the first copy
        set.raw[number] = raw
        guard set.parts.count == count else {
            sets[key] = set
            return .waiting
        }
        sets[key] = nil
        order.removeAll { $0 == key }
        let parts = (1...count).map { set.parts[$0]! }
        return .whole(Self.merged(parts), raw: (1...count).map { set.raw[$0]! }.joined(separator: "\n"))
    }

    /// Gives up on sets whose first part is older than `maxAge` at `now` (or on every set when
    /// `all`, as when the connection closes).
    public mutating func expire(now: Double, all: Bool = false) -> [Abandoned] {
        var out: [Abandoned] = []
        for key in order {
            guard let set = sets[key], all || now - set.firstAt > maxAge else { continue }
            let have = set.parts.keys.sorted()
            out.append(Abandoned(
                mn: key.mn, qn: key.qn, raw: have.map { set.raw[$0]! }.joined(separator: "\n"),
                reason: "split packet QN \(key.qn) incomplete: parts \(have.map(String.init).joined(separator: ",")) of \(set.count) "
                    + (all ? "when the connection closed" : "after \(Int(maxAge)) s")))
            sets[key] = nil
        }
        order.removeAll { sets[$0] == nil }
        return out
    }

    /// The whole packet: the first part's header without PNUM/PNO and with Flag's part bit
    /// cleared, and every part's CP groups in order.
    static func merged(_ parts: [HJ212.Packet]) -> HJ212.Packet {
        var whole = parts[0]
        whole.header = whole.header.filter { $0.0 != "PNUM" && $0.0 != "PNO" }.map { k, v in
            k == "Flag" ? (k, Int(v).map { String($0 & ~2) } ?? v) : (k, v)
        }
        whole.data = parts.flatMap(\.data)
        return whole
    }
}
