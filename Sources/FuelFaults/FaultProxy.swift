import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP proxy under a fault test's control, between a client (the station agent) and a server
/// (the daemon): it forwards, refuses (accepts and closes at once, as a dead route does), stalls
/// (accepts and never answers), holds the answers back (forwards requests, so the server acts on
/// them, and swallows what it answers: a client killed then is killed mid-batch, its work committed
/// and unacknowledged) or cuts every open connection in the middle of what it carries.
package final class FaultProxy: Sendable {
    package enum Mode: Sendable { case pass, refuse, stall, holdAnswers }

    let upstreamPort: Int
    private let state = NIOLockedValueBox<(mode: Mode, open: [ObjectIdentifier: any Channel])>((.pass, [:]))
    private let server = NIOLockedValueBox<(any Channel)?>(nil)
    private let held = NIOLockedValueBox(0)

    /// Reads from the server swallowed while holding answers back.
    package var answersHeld: Int { held.withLockedValue { $0 } }

    package init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    package var mode: Mode {
        get { state.withLockedValue { $0.mode } }
        set { state.withLockedValue { $0.mode = newValue } }
    }

    /// Closes every connection open now (requests and answers in flight are cut).
    package func cutAll() {
        let open = state.withLockedValue { s in
            let o = Array(s.open.values)
            s.open = [:]
            return o
        }
        for c in open { c.close(promise: nil) }
    }

    /// Starts listening on a free port; answers it.
    package func start() async throws -> Int {
        let upstream = upstreamPort
        let state = self.state
        let held = self.held
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                let mode = state.withLockedValue { $0.mode }
                switch mode {
                case .refuse:
                    return child.close()
                case .stall:
                    state.withLockedValue { $0.open[ObjectIdentifier(child)] = child }
                    return child.eventLoop.makeSucceededVoidFuture()
                case .pass, .holdAnswers:
                    state.withLockedValue { $0.open[ObjectIdentifier(child)] = child }
                    return ClientBootstrap(group: child.eventLoop)
                        .connect(host: "127.0.0.1", port: upstream)
                        .flatMap { up in
                            state.withLockedValue { $0.open[ObjectIdentifier(up)] = up }
                            // The server's side swallows what it reads while answers are held (checked per
                            // read, so connections already open are held too).
                            let (a, b) = GlueHandler.pair(holdingServerReads: {
                                guard state.withLockedValue({ $0.mode }) == .holdAnswers else { return false }
                                held.withLockedValue { $0 += 1 }
                                return true
                            })
                            return child.pipeline.addHandler(a).and(up.pipeline.addHandler(b)).map { _ in }
                        }
                        .flatMapErrorThrowing { error in
                            child.close(promise: nil)
                            throw error
                        }
                }
            }
            .childChannelOption(.autoRead, value: true)
            .bind(host: "127.0.0.1", port: 0).get()
        server.withLockedValue { $0 = channel }
        return channel.localAddress?.port ?? 0
    }

    package func stop() {
        server.withLockedValue { $0?.close(promise: nil) }
        cutAll()
    }
}

/// Joins two channels: what one reads the other writes; when one closes, so does the other.
/// (The pattern of swift-nio's connect-proxy example.)
final class GlueHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    /// Asked for each read: true = swallow it instead of passing it on.
    private var swallow: (@Sendable () -> Bool)?

    /// The client's handler and the server's; `holdingServerReads` decides, read by read, whether
    /// what the server sends is dropped.
    static func pair(holdingServerReads: (@Sendable () -> Bool)? = nil) -> (GlueHandler, GlueHandler) {
        let a = GlueHandler(), b = GlueHandler()
        b.swallow = holdingServerReads
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    // Both channels of a pair live on the same event loop (the upstream connection is made on the
    // accepted one's loop), so a handler may act on its partner's context directly.
    private func partnerWrite(_ data: NIOAny) { context?.writeAndFlush(data, promise: nil) }

    private func partnerClose() { context?.close(promise: nil) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let swallow, swallow() { return }
        partner?.partnerWrite(data)
    }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerClose() }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
