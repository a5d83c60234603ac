import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A listening TCP socket whose accepted connections are handed out as `NIOAsyncChannel`s, none
/// ever dropped.
///
/// NIO's own async `bind` hands its connections out through a sequence that drops one accepted while
/// the server is closing or after its reader stopped; a `NIOAsyncChannel` freed without
/// `executeThenClose` traps the process ("Deinited NIOAsyncWriter without calling finish()",
/// apple/swift-nio#2637 and #3481 — open, no fix in NIO; it crashed this package's tests once, and a
/// device connecting while the daemon stops would crash it). Here each connection is put in a stream
/// of our own, and one that comes after the stream has ended is closed the way NIO asks for.
public struct ConnectionAcceptor<Inbound: Sendable, Outbound: Sendable>: Sendable {
    /// The listening channel: its address, and closing it ends ``connections``.
    public let channel: any Channel
    /// The accepted connections, in order, until the listening channel is closed.
    public let connections: AsyncStream<NIOAsyncChannel<Inbound, Outbound>>

    /// Binds `host`:`port` (0: any free port); `configure` sets up each connection's pipeline before
    /// it is wrapped (its handlers turn bytes into `Inbound` and `Outbound` into bytes).
    public static func bind(host: String, port: Int, backlog: Int32 = 256,
                            configure: @escaping @Sendable (any Channel) throws -> Void = { _ in }) async throws -> Self {
        let (connections, continuation) = AsyncStream.makeStream(of: NIOAsyncChannel<Inbound, Outbound>.self)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try configure(child)
                    let connection = try NIOAsyncChannel<Inbound, Outbound>(wrappingChannelSynchronously: child)
                    if case .terminated = continuation.yield(connection) {
                        // The listener has stopped: nobody will serve it, so it is closed here.
                        Task { try? await connection.executeThenClose { _, _ in } }
                    }
                }
            }
            .bind(host: host, port: port).get()
        channel.closeFuture.whenComplete { _ in continuation.finish() }
        return Self(channel: channel, connections: connections)
    }

    /// The port it listens on.
    public var port: Int? { channel.localAddress?.port }
}

/// Serves each connection `acceptor` accepts in a task of its own until the calling task is
/// cancelled (which closes the listening channel), then waits for the connections' tasks to end.
///
/// Cancellation does not stop the accepting loop itself — a connection accepted just before would
/// be left in the stream unserved, and trap when freed (see ``ConnectionAcceptor``): the loop runs in
/// a task of its own, cancellation closes the listening channel, the loop closes every connection it
/// still gets until the stream ends, and only then are the connections being served cancelled.
public func serveEachConnection<Inbound: Sendable, Outbound: Sendable>(
    of acceptor: ConnectionAcceptor<Inbound, Outbound>,
    _ serve: @escaping @Sendable (NIOAsyncChannel<Inbound, Outbound>) async -> Void
) async {
    let stopping = NIOLockedValueBox(false)
    let accepting = Task {
        await withDiscardingTaskGroup { group in
            for await connection in acceptor.connections {
                if stopping.withLockedValue({ $0 }) {
                    try? await connection.executeThenClose { _, _ in }
                    continue
                }
                group.addTask { await serve(connection) }
            }
            if stopping.withLockedValue({ $0 }) { group.cancelAll() }
        }
    }
    await withTaskCancellationHandler {
        await accepting.value
    } onCancel: {
        stopping.withLockedValue { $0 = true }
        acceptor.channel.close(promise: nil)
    }
}
