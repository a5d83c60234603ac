import FuelAsync
import FuelWire
import NIOCore
import NIOPosix

/// A minimal HJ 212 device: connects, sends packets and collects the platform's answers. Used by
/// the demo, the fault tests and the tests to talk to the listener over real TCP.
public struct HJ212Client: Sendable {
    public let host: String
    public let port: Int

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// The answers did not all come within the time allowed.
    public struct Timeout: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `bytes` (in two writes, to exercise reassembly) and reads `answers` packets back
    /// within `seconds`. `decryptBlocksFor` reads what the platform sends encrypted (its CN 1014
    /// command carrying a new key) as a device with that key does. The default allowance is long
    /// because an answer comes only after the records are committed, and under a loaded machine (the
    /// whole test suite on two cores) a commit took over 5 s; a healthy listener answers in
    /// milliseconds, so the allowance costs nothing there, and `answers: 0` returns at once.
    public func send(_ bytes: [UInt8], answers expected: Int, seconds: Double = 20,
                     decryptBlocksFor: @escaping @Sendable (String) -> (([UInt8]) throws -> [UInt8])? = { _ in nil }) async throws -> [HJ212.Packet] {
        let host = self.host, port = self.port
        return try await withTimeLimit(.seconds(seconds), timeoutError: Timeout(description: "no \(expected) HJ 212 answers from \(host):\(port) within \(seconds) s")) {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: host, port: port) { ch in
                    ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
                }
            return try await channel.executeThenClose { inbound, outbound in
                let mid = bytes.count / 2
                try await outbound.write(ByteBuffer(bytes: bytes[..<mid]))
                try await outbound.write(ByteBuffer(bytes: bytes[mid...]))
                var reader = HJ212FrameReader()
                var answers: [HJ212.Packet] = []
                guard expected > 0 else { return answers }
                for try await chunk in inbound {
                    reader.append(chunk.readableBytesView)
                    while case .frame(let f)? = reader.next() { answers.append(try HJ212.decode(f, decryptBlocksFor: decryptBlocksFor)) }
                    if answers.count >= expected { break }
                }
                return answers
            }
        }
    }
}
