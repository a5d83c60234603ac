import NIOConcurrencyHelpers
import NIOCore

/// Closes a connection when `IdleStateHandler` reports it idle: a device or console that stops
/// talking must not hold a connection (or a poll) forever.
final class CloseOnIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// A count of open connections with a ceiling, shared by a listener's connection tasks.
final class ConnectionLimit: Sendable {
    private let count = NIOLockedValueBox(0)
    let maximum: Int

    init(maximum: Int) { self.maximum = maximum }

    /// Takes a slot, or returns false when the listener is full.
    func enter() -> Bool {
        count.withLockedValue { n in
            guard n < maximum else { return false }
            n += 1
            return true
        }
    }

    func leave() { count.withLockedValue { $0 -= 1 } }
    var current: Int { count.withLockedValue { $0 } }
}
