import FuelFeeds
import NIOCore
import NIOPosix
import Testing

/// A listener cancelled while devices are connecting: every connection NIO accepted is handed out
/// and closed, none is freed unfinished (a freed, unfinished NIOAsyncChannel traps the process:
/// apple/swift-nio#2637; with NIO's own async `bind` this test trapped in its first run), and the
/// serving task ends.
@Suite struct ListenerCancellationTests {
    @Test func aListenerCancelledWhileClientsConnectClosesEveryConnection() async throws {
        for _ in 0..<100 {
            let server = try await ConnectionAcceptor<ByteBuffer, ByteBuffer>.bind(host: "127.0.0.1", port: 0)
            let port = try #require(server.port)
            let served = Task {
                await serveEachConnection(of: server) { connection in
                    try? await connection.executeThenClose { inbound, _ in for try await _ in inbound {} }
                }
            }
            // Clients connect in a burst; the listener is cancelled in the middle of it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        let client = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                            .connect(host: "127.0.0.1", port: port).get()
                        try? await client?.close()
                    }
                }
                try await Task.sleep(for: .milliseconds(2))
                served.cancel()
                try await group.waitForAll()
            }
            // The serving task ends once the listener is closed and its connections with it.
            await served.value
            #expect(!server.channel.isActive)
        }
    }
}
