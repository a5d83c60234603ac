import Foundation
import FuelLab
import FuelAsync
import FuelStore
import NIOCore
import NIOPosix

/// A slow HTTP client (slowloris): sends `head`, then one byte of `trickle` per `interval`, and
/// notes when and how the server ended the connection.
struct SlowSender: Sendable {
    let port: Int
    let head: [UInt8]
    let trickle: [UInt8]
    let interval: Duration
    /// Give up (the server never closed) after this long.
    let limit: Duration

    struct Outcome: Sendable {
        /// Seconds from connecting until the server answered or closed; nil if it did neither within the limit.
        var closedAfter: Double?
        /// The status line the server sent before closing, if any.
        var status: String?
    }

    func run() async -> Outcome {
        let began = ContinuousClock.now
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { ch in
                    ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: head))
                let writer = Task {
                    for b in trickle {
                        try await Task.sleep(for: interval)
                        try await outbound.write(ByteBuffer(bytes: [b]))
                    }
                    try await Task.sleep(for: limit)
                }
                defer { writer.cancel() }
                return try await withTimeLimit(limit, timeoutError: CancellationError()) {
                    var text = ""
                    for try await chunk in inbound {
                        text += String(buffer: chunk)
                        if text.contains("\r\n") { break }
                    }
                    return Outcome(closedAfter: (ContinuousClock.now - began) / .seconds(1),
                                   status: text.split(separator: "\r\n").first.map(String.init))
                }
            }
        } catch is CancellationError {
            return Outcome(closedAfter: nil, status: nil)
        } catch {
            // A reset counts as the server closing it.
            return Outcome(closedAfter: (ContinuousClock.now - began) / .seconds(1), status: nil)
        }
    }
}
