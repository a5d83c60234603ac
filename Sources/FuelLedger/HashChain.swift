import Crypto

/// A 32-byte digest (SHA-256 or SM3, by the ledger's suite).
public typealias Digest32 = [UInt8]

/// The per-station (and audit) hash chain.
///
/// `hash(n) = H(hash(n−1) ‖ be64(n) ‖ body(n))` with `hash(0)` = 32 zero bytes and dense positions
/// `n = 1, 2, …`, H the suite's hash (SHA-256, or SM3 under `guomi`). Binding the position means a
/// row cannot be moved or dropped without breaking every later link. `contentHash = H(body)`
/// identifies a record's content for idempotency (same station, source and source sequence with
/// another content is a conflict).
public enum HashChain {
    public static let genesis: Digest32 = Array(repeating: 0, count: 32)

    /// The link hash of a record: hash of the previous link, the position and the canonical body.
    public static func link(previous: Digest32, position: Int64, body: some Collection<UInt8>, suite: LedgerSuite = .international) -> Digest32 {
        if suite == .international {
            // The hot path of every append: SHA-256 fed without copies.
            var h = SHA256()
            previous.withUnsafeBytes { h.update(bufferPointer: $0) }
            withUnsafeBytes(of: UInt64(bitPattern: position).bigEndian) { h.update(bufferPointer: $0) }
            Array(body).withUnsafeBytes { h.update(bufferPointer: $0) }
            return Array(h.finalize())
        }
        return suite.digest(previous, bigEndian(position), Array(body))
    }

    /// The hash of a record's canonical body alone (idempotency: same seq, same content).
    public static func contentHash(_ body: some Collection<UInt8>, suite: LedgerSuite = .international) -> Digest32 {
        suite == .international ? Array(SHA256.hash(data: Array(body))) : suite.digest(Array(body))
    }

    static func bigEndian(_ position: Int64) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: position).bigEndian) { Array($0) }
    }
}

/// A chain link computed for a new entry.
public struct ChainLink: Hashable, Sendable {
    public var position: Int64
    public var previous: Digest32
    public var hash: Digest32

    public init(position: Int64, previous: Digest32, hash: Digest32) {
        self.position = position
        self.previous = previous
        self.hash = hash
    }
}

/// Extends a chain from its head, one body at a time.
public struct ChainAppender: Sendable {
    public private(set) var headPosition: Int64
    public private(set) var headHash: Digest32
    public let suite: LedgerSuite

    public init(headPosition: Int64, headHash: Digest32, suite: LedgerSuite = .international) {
        self.headPosition = headPosition
        self.headHash = headHash
        self.suite = suite
    }

    /// Chains the next record after the head and moves the head to it.
    public mutating func append(body: some Collection<UInt8>) -> ChainLink {
        let position = headPosition + 1
        let hash = HashChain.link(previous: headHash, position: position, body: body, suite: suite)
        let link = ChainLink(position: position, previous: headHash, hash: hash)
        headPosition = position
        headHash = hash
        return link
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hex.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses hex (either case); nil when the text is not hex.
    public init?(hex: String) {
        let u = Array(hex.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = v(u[i]), let lo = v(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }
}
