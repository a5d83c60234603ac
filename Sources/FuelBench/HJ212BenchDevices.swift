import FuelAsync
import FuelStore
import FuelWire
import NIOCore
import NIOPosix

/// The emulated devices of `bench hj212`: each a connection that sends its packets one after another
/// and waits for each answer, driven by a channel handler on NIO's event loop. Written on NIO
/// directly because the devices share the machine's two cores with the listener and PostgreSQL (a
/// real province's devices are elsewhere): an async task per device reading through
/// `NIOAsyncChannel` spent a thread switch and a task resumption on every answer, CPU the bench then
/// took from the listener it measures.
enum HJ212BenchDevices {
    /// Connects one device per element of `frames`, then starts them all at once; answers each
    /// packet's latency (send to answer) and the seconds from the start to the last answer.
    static func run(port: Int, frames: [[[UInt8]]], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws
        -> (latencies: [Double], seconds: Double) {
        var finished: [EventLoopFuture<[Double]>] = []
        var channels: [any Channel] = []
        for f in frames {
            let loop = group.next()
            let done = loop.makePromise(of: [Double].self)
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HJ212BenchDevice(frames: f, done: done))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            channels.append(channel)
            finished.append(done.futureResult)
        }
        defer { for c in channels { c.close(promise: nil) } }
        let start = ContinuousClock.now
        for c in channels { c.pipeline.fireUserInboundEventTriggered(HJ212BenchDevice.Start()) }
        var all: [Double] = []
        for f in finished { all += try await f.get() }
        return (all, (ContinuousClock.now - start).inSeconds)
    }
}

/// One device: writes a packet, waits for its answer (CN 9014), writes the next; fails on any other answer.
private final class HJ212BenchDevice: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let frames: [[UInt8]]
    private let done: EventLoopPromise<[Double]>
    private var next = 0
    private var sent = NIODeadline.now()
    private var latencies: [Double] = []
    private var reader = HJ212FrameReader()

    init(frames: [[UInt8]], done: EventLoopPromise<[Double]>) {
        self.frames = frames
        self.done = done
        latencies.reserveCapacity(frames.count)
    }

    /// The signal to send the first packet, once every device is connected.
    struct Start {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Start { sendNext(context: context) } else { context.fireUserInboundEventTriggered(event) }
    }

    private func sendNext(context: ChannelHandlerContext) {
        guard next < frames.count else {
            done.succeed(latencies)
            context.close(promise: nil)
            return
        }
        sent = .now()
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: frames[next])), promise: nil)
        next += 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        reader.append(buffer.readableBytesView)
        while let item = reader.next() {
            guard case .frame(let answer) = item, let p = try? HJ212.decode(answer) else { continue }
            guard p.cn == "9014" else {
                done.fail(StoreError.invalid("device answered \(p.cn ?? "?"): \(p.item("QnRtn") ?? "")"))
                context.close(promise: nil)
                return
            }
            latencies.append(Double((NIODeadline.now() - sent).nanoseconds) / 1e9)
            sendNext(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // After the last answer the promise is already kept, and failing it again does nothing.
        done.fail(StoreError.unavailable("listener closed the connection after \(latencies.count) of \(frames.count) answers"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }
}
