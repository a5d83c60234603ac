/// A stored chain row as `verify` reads it back.
public struct StoredLink: Sendable {
    public var position: Int64
    public var body: [UInt8]
    public var contentHash: Digest32?
    public var previous: Digest32
    public var hash: Digest32

    public init(position: Int64, body: [UInt8], contentHash: Digest32?, previous: Digest32, hash: Digest32) {
        self.position = position
        self.body = body
        self.contentHash = contentHash
        self.previous = previous
        self.hash = hash
    }
}

/// Why a chain does not verify, at which position.
public struct ChainBreak: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong at the position.
    public enum Reason: Hashable, Sendable {
        /// A position is missing or out of order.
        case gap(expected: Int64)
        /// The stored previous hash is not the hash of the row before.
        case previousMismatch
        /// The stored hash is not the suite's hash of (previous ‖ position ‖ body): the row was edited.
        case hashMismatch
        /// The stored content hash does not match the body.
        case contentMismatch
        /// The chain head table disagrees with the last row.
        case headMismatch
    }
    public var position: Int64
    public var reason: Reason

    public init(position: Int64, reason: Reason) {
        self.position = position
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .gap(let expected): "seq \(position): expected seq \(expected) (missing or reordered row)"
        case .previousMismatch: "seq \(position): previous hash does not match the row before"
        case .hashMismatch: "seq \(position): hash does not match the row's content (row edited)"
        case .contentMismatch: "seq \(position): content hash does not match the body (row edited)"
        case .headMismatch: "seq \(position): chain head does not match the last row"
        }
    }
}

/// Recomputes a chain row by row; feed rows in position order, then `finish` with the stored head.
public struct ChainVerifier: Sendable {
    public private(set) var position: Int64 = 0
    public private(set) var hash: Digest32 = HashChain.genesis
    public let suite: LedgerSuite

    public init(suite: LedgerSuite = .international) { self.suite = suite }

    /// A verifier that goes on from an anchor: the chain's records up to `position` are archived
    /// (and verified from their files), the next one must link to `hash`.
    public init(suite: LedgerSuite = .international, after position: Int64, hash: Digest32) {
        self.suite = suite
        self.position = position
        self.hash = hash
    }

    /// Checks the next stored row against the chain so far; throws at the first break.
    public mutating func check(_ row: StoredLink) throws(ChainBreak) {
        guard row.position == position + 1 else { throw ChainBreak(position: row.position, reason: .gap(expected: position + 1)) }
        guard row.previous == hash else { throw ChainBreak(position: row.position, reason: .previousMismatch) }
        if let c = row.contentHash, c != HashChain.contentHash(row.body, suite: suite) {
            throw ChainBreak(position: row.position, reason: .contentMismatch)
        }
        let expected = HashChain.link(previous: hash, position: row.position, body: row.body, suite: suite)
        guard expected == row.hash else { throw ChainBreak(position: row.position, reason: .hashMismatch) }
        position = row.position
        hash = row.hash
    }

    /// Checks that the recorded head is the last verified row.
    public func finish(headPosition: Int64, headHash: Digest32) throws(ChainBreak) {
        guard headPosition == position, headHash == hash else {
            throw ChainBreak(position: max(headPosition, position), reason: .headMismatch)
        }
    }
}
