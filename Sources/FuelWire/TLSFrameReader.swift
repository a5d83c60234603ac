/// Cuts a TCP byte stream from a Veeder-Root console into replies (SOH … ETX).
///
/// TCP delivers replies in arbitrary pieces: a reply may arrive over several reads and a read may
/// end in the middle of the next one. Bytes before an SOH are noise (line echo, a telnet banner) and
/// are dropped; a reply that grows past `maxFrame` without its ETX is cut off and reported.
public struct TLSFrameReader: ByteStreamFramer {

    public let maxFrame: Int
    private var buffer: [UInt8] = []

    public init(maxFrame: Int = 256 * 1024) { self.maxFrame = maxFrame }

    public var pending: Int { buffer.count }

    /// Adds bytes read from the console.
    public mutating func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// Takes the bytes of an unfinished reply (when the console closed or ran out of time).
    public mutating func takePending() -> [UInt8] {
        defer { buffer.removeAll() }
        return buffer
    }

    /// The next complete item, or nil when more bytes are needed.
    public mutating func next() -> FramedBytes? {
        guard !buffer.isEmpty else { return nil }
        guard let start = buffer.firstIndex(of: VeederRootTLS.soh) else {
            if buffer.count > maxFrame { return cut(buffer.count, "no SOH in \(buffer.count) bytes") }
            return nil
        }
        if start > 0 {
            let noise = Array(buffer[..<start])
            buffer.removeFirst(start)
            // Whitespace between replies is normal; anything else is worth reporting.
            if noise.allSatisfy({ $0 == 0x0D || $0 == 0x0A || $0 == 0x20 || $0 == 0 }) { return next() }
            return .junk(noise, reason: "\(noise.count) bytes outside SOH … ETX")
        }
        if let end = buffer.firstIndex(of: VeederRootTLS.etx) {
            let frame = Array(buffer[...end])
            buffer.removeFirst(end + 1)
            return .frame(frame)
        }
        if buffer.count > maxFrame { return cut(buffer.count, "reply exceeds \(maxFrame) bytes without ETX") }
        return nil
    }

    private mutating func cut(_ n: Int, _ reason: String) -> FramedBytes {
        let dropped = Array(buffer.prefix(n))
        buffer.removeFirst(n)
        return .junk(dropped, reason: reason)
    }
}
