/// Cuts a TCP byte stream from HJ 212 devices into packets (`##LLLL…CCCC\r\n`).
///
/// Packets split across reads are reassembled and several packets in one read are separated. The
/// length field tells where a packet ends, so a packet is taken whole even when its data contains
/// `##`. Bytes that cannot start a packet are reported as junk and skipped up to the next `##`; a
/// length field above `maxDataLength` is refused without waiting for that many bytes.
///
/// One exception (HJ 212-2025 §6.4): an encrypted CP written as text (`CP=&&{0xE4,0x3E,…}…&&`)
/// is longer on the wire than the plaintext the length field counts, so such a packet ends at its
/// CRLF instead (within the longest text a full-size packet can take: five characters a byte).
public struct HJ212FrameReader: ByteStreamFramer {

    public let maxDataLength: Int
    private var buffer: [UInt8] = []

    public init(maxDataLength: Int = HJ212.maxDataLength) { self.maxDataLength = maxDataLength }

    public var pending: Int { buffer.count }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next complete packet, or junk to quarantine; nil when more bytes are needed.
    public mutating func next() -> FramedBytes? {
        // Skip line ends left between packets.
        var lead = 0
        while lead < buffer.count, buffer[lead] == 0x0D || buffer[lead] == 0x0A { lead += 1 }
        if lead > 0 { buffer.removeFirst(lead) }
        guard !buffer.isEmpty else { return nil }
        let hash = UInt8(ascii: "#")
        guard buffer[0] == hash, buffer.count < 2 || buffer[1] == hash else {
            return skipToNextStart(reason: "bytes before ## are not a packet")
        }
        guard buffer.count >= 6 else { return nil }
        guard let length = HJ212.decimal(buffer[2..<6]) else {
            return skipToNextStart(from: 2, reason: "length field \(String(decoding: buffer[2..<6], as: UTF8.self).debugDescription) is not 4 decimal digits")
        }
        guard length <= maxDataLength else {
            return skipToNextStart(from: 2, reason: "length field \(length) exceeds the limit of \(maxDataLength)")
        }
        if let end = textEncryptedEnd(length: length) { return end }
        let total = 6 + length + 4
        guard buffer.count >= total else { return nil }
        // Some devices omit the CRLF: take the packet at its length and skip a CRLF that follows.
        var end = total
        if buffer.count >= total + 2, buffer[total] == 0x0D, buffer[total + 1] == 0x0A { end = total + 2 }
        let frame = Array(buffer[..<total])
        buffer.removeFirst(end)
        return .frame(frame)
    }

    /// A packet whose CP starts with `{0x` (ciphertext as text): it ends at its CRLF. Nil when the
    /// packet is not one (or it cannot be told yet); `.frame` or `.junk` when it is.
    private mutating func textEncryptedEnd(length: Int) -> FramedBytes?? {
        let marker = Array("CP=&&{0x".utf8)
        // The marker lies within the plaintext's length (the header fields come before CP).
        let searchEnd = min(buffer.count, 6 + length + marker.count)
        guard searchEnd >= 6 + marker.count,
              (6...(searchEnd - marker.count)).contains(where: { i in buffer[i..<(i + marker.count)].elementsEqual(marker) }) else {
            return nil
        }
        let limit = 6 + 5 * maxDataLength + 4 + 2
        if let cr = (6..<max(6, buffer.count - 1)).first(where: { buffer[$0] == 0x0D && buffer[$0 + 1] == 0x0A }), cr < limit {
            let frame = Array(buffer[..<cr])
            buffer.removeFirst(cr + 2)
            return .some(.frame(frame))
        }
        if buffer.count >= limit { return .some(skipToNextStart(from: 2, reason: "encrypted packet written as text has no CRLF within \(limit) bytes")) }
        return .some(nil)
    }

    /// Drops bytes up to the next `##` after `from` (or everything, keeping a trailing `#`).
    private mutating func skipToNextStart(from: Int = 1, reason: String) -> FramedBytes {
        var i = max(1, from)
        while i + 1 < buffer.count, !(buffer[i] == UInt8(ascii: "#") && buffer[i + 1] == UInt8(ascii: "#")) { i += 1 }
        if i + 1 >= buffer.count, buffer.last != UInt8(ascii: "#") { i = buffer.count }
        let dropped = Array(buffer[..<i])
        buffer.removeFirst(i)
        return .junk(dropped, reason: reason)
    }
}
