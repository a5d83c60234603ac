import Foundation
import FuelLab
import FuelSim
import FuelWire
import NIOCore
import NIOPosix

/// A console that misbehaves the way broken or hostile gauges do, for the bad-input test: every
/// command is answered with garbage, a reply cut short, a reply too large to be one, or a trickle.
package struct HostileConsole: Sendable {
    package enum Mode: String, Sendable, CaseIterable {
        /// 2 KiB of random bytes without a reply frame, then close.
        case garbage
        /// SOH and the start of an inventory reply, then close (no ETX).
        case truncated
        /// SOH and 300 KiB without an ETX.
        case oversized
        /// One byte every half second, never finishing.
        case trickle
    }

    package let mode: Mode

    package init(mode: Mode) { self.mode = mode }

    /// Listens on 127.0.0.1 (a free port) until cancelled; `onListening` gets the port.
    package func run(onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        await onListening(server.channel.localAddress?.port ?? 0)
        let mode = self.mode
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { try? await Self.serve(connection, mode: mode) }
                    }
                }
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, mode: Mode) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var it = inbound.makeAsyncIterator()
            guard try await it.next() != nil else { return }
            var rng = SeededRandom(seed: UInt64.random(in: 0...UInt64.max))
            switch mode {
            case .garbage:
                let bytes = (0..<2048).map { _ -> UInt8 in
                    let b = UInt8(truncatingIfNeeded: rng.next())
                    return b == VeederRootTLS.soh || b == VeederRootTLS.etx ? 0x41 : b
                }
                try await outbound.write(ByteBuffer(bytes: bytes))
            case .truncated:
                try await outbound.write(ByteBuffer(bytes: [VeederRootTLS.soh] + Array("i20100261121230001".utf8) + Array("0000000".utf8)))
            case .oversized:
                try await outbound.write(ByteBuffer(bytes: [VeederRootTLS.soh] + Array(repeating: UInt8(ascii: "7"), count: 300 * 1024)))
            case .trickle:
                var i = 0
                while !Task.isCancelled {
                    try await outbound.write(ByteBuffer(bytes: [i == 0 ? VeederRootTLS.soh : UInt8(ascii: "0")]))
                    i += 1
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }
}
