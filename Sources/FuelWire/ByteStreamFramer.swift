/// What a framer cuts from a device's byte stream.
public enum FramedBytes: Hashable, Sendable {
    /// One complete frame (reply or packet).
    case frame([UInt8])
    /// Bytes that are not part of any frame, with the reason.
    case junk([UInt8], reason: String)

    public var bytes: [UInt8] {
        switch self {
        case .frame(let b), .junk(let b, _): b
        }
    }
}

/// Cuts a TCP byte stream into a device protocol's frames: bytes go in as they arrive, complete
/// frames and rejected bytes come out in order.
public protocol ByteStreamFramer: Sendable {
    mutating func append(_ bytes: some Sequence<UInt8>)
    /// The next complete item, or nil when more bytes are needed.
    mutating func next() -> FramedBytes?
    /// Bytes held for an incomplete frame.
    var pending: Int { get }
}

extension ByteStreamFramer {
    /// Appends `bytes` and takes every item now complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [FramedBytes] {
        append(bytes)
        var out: [FramedBytes] = []
        while let item = next() { out.append(item) }
        return out
    }
}
