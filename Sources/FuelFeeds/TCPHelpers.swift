import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Closes a connection when `IdleStateHandler` reports it idle: a device or console that stops
/// talking must not hold a connection (or a poll) forever.
public final class CloseOnIdle: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    public init() {}

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// A count of open connections with a ceiling, shared by a listener's connection tasks.
public final class ConnectionLimit: Sendable {
    private let count = NIOLockedValueBox(0)
    public let maximum: Int

    public init(maximum: Int) { self.maximum = maximum }

    /// Takes a slot, or returns false when the listener is full.
    public func enter() -> Bool {
        count.withLockedValue { n in
            guard n < maximum else { return false }
            n += 1
            return true
        }
    }

    public func leave() { count.withLockedValue { $0 -= 1 } }
    public var current: Int { count.withLockedValue { $0 } }
}

/// Runs `body` until graceful shutdown cancels it; that cancellation is the normal way out.
public func untilGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown { try await body() }
    } catch is CancellationError {
    }
}
