import DequeModule
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The load generator's HTTP/1.1 client: keep-alive connections, one request at a time on each (no
/// pipelining, as a station's collector would), requests waiting for a free connection in one
/// queue. Written on NIO's HTTP codec directly because the generator shares the machine's two
/// cores with the daemon and PostgreSQL: a general-purpose client (AsyncHTTPClient) spent about
/// 280 µs of CPU a request here, several times what is measured on the other side.
final class LoadConnections: Sendable {
    /// One push to send: its pre-built head and body, and what to do with the answer.
    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer
        var done: @Sendable (_ status: Int?) -> Void
    }

    private struct State {
        var idle: [ConnectionHandler] = []
        var queue = Deque<Request>()
        var inFlight = 0
        /// Set by ``close()``: a connection that closes then is not replaced.
        var closing = false
    }

    private let state = NIOLockedValueBox(State())
    private let channels = NIOLockedValueBox([any Channel]())
    let host: String
    let port: Int

    private init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Opens `count` connections to `host:port`.
    static func open(host: String, port: Int, count: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> LoadConnections {
        let pool = LoadConnections(host: host, port: port)
        for _ in 0..<count { try await pool.connect(group: group) }
        return pool
    }

    private func connect(group: any EventLoopGroup) async throws {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(pool: self, eventLoop: channel.eventLoop))
                }
            }
            .connect(host: host, port: port).get()
        channels.withLockedValue { $0.append(channel) }
    }

    /// Requests sent or waiting for a connection.
    var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Sends `request` on an idle connection, or queues it for the next one free.
    func send(_ request: Request) {
        dispatch(request, counted: false)
    }

    /// A request whose connection was gone before it was written goes to another one.
    fileprivate func dispatch(_ request: Request, counted: Bool) {
        let handler: ConnectionHandler? = state.withLockedValue { s in
            if !counted { s.inFlight += 1 }
            guard let h = s.idle.popLast() else {
                s.queue.append(request)
                return nil
            }
            return h
        }
        handler?.start(request)
    }

    /// A connection finished its request (or just opened): it takes the next waiting one or goes idle.
    fileprivate func next(for handler: ConnectionHandler, finished: Bool = true) -> Request? {
        state.withLockedValue { s in
            if finished { s.inFlight -= 1 }
            guard let r = s.queue.popFirst() else {
                s.idle.append(handler)
                return nil
            }
            return r
        }
    }

    /// A connection closed (the daemon's idle timeout, a reset): it takes no more requests, the one
    /// it was answering failed, and a new connection takes its place.
    fileprivate func closed(_ handler: ConnectionHandler, failed: Bool, group: any EventLoopGroup) {
        let replace = state.withLockedValue { s in
            s.idle.removeAll { $0 === handler }
            if failed { s.inFlight -= 1 }
            return !s.closing
        }
        if replace { Task { try? await self.connect(group: group) } }
    }

    func close() async {
        state.withLockedValue { $0.closing = true }
        for c in channels.withLockedValue({ $0 }) { try? await c.close() }
    }
}

/// One connection: sends a request, reads the answer's status, reports and takes the next.
private final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let pool: LoadConnections
    /// Touched on the channel's event loop only.
    private var context: ChannelHandlerContext?
    private var current: LoadConnections.Request?
    private var status: Int?

    private var eventLoop: any EventLoop

    init(pool: LoadConnections, eventLoop: any EventLoop) {
        self.pool = pool
        self.eventLoop = eventLoop
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        eventLoop = context.eventLoop
        if let r = pool.next(for: self, finished: false) { write(r, context: context) }
    }

    /// Called from any thread: the write happens on the channel's event loop (or, when the
    /// connection closed meanwhile, the request goes to another one).
    func start(_ request: LoadConnections.Request) {
        let loop = eventLoop
        loop.execute {
            guard let context = self.context else { return self.pool.dispatch(request, counted: true) }
            self.write(request, context: context)
        }
    }

    private func write(_ request: LoadConnections.Request, context: ChannelHandlerContext) {
        current = request
        status = nil
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            guard let done = current else { return }
            current = nil
            done.done(status)
            if let r = pool.next(for: self) { write(r, context: context) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        let failed = current
        current = nil
        failed?.done(nil)
        pool.closed(self, failed: failed != nil, group: context.eventLoop)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
