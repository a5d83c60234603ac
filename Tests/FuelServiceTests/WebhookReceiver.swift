import Foundation
import Hummingbird
import Logging
import Synchronization

/// A webhook endpoint for tests: a real HTTP server on a free port that answers each path with
/// scripted statuses (the last one repeating) and keeps every request it got.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: String
    }

    private let script: [String: [Int]]
    private let state = Mutex<(received: [Received], served: [String: Int])>(([], [:]))

    init(script: [String: [Int]]) { self.script = script }

    var received: [Received] { state.withLock { $0.received } }

    /// Runs the receiver around `body`, passing its base URL.
    static func with(script: [String: [Int]], _ body: @escaping @Sendable (WebhookReceiver, String) async throws -> Void) async throws {
        let receiver = WebhookReceiver(script: script)
        let router = Router()
        router.post("{path}") { request, context -> Response in
            let path = "/" + (context.parameters.get("path") ?? "")
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            var headers: [String: String] = [:]
            for f in request.headers { headers[f.name.canonicalName] = f.value }
            let status = receiver.state.withLock { s -> Int in
                s.received.append(Received(path: path, headers: headers, body: text))
                let n = s.served[path, default: 0]
                s.served[path] = n + 1
                let answers = receiver.script[path] ?? [200]
                return answers[min(n, answers.count - 1)]
            }
            return Response(status: .init(code: status))
        }
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "webhook")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { cont.yield($0.localAddress?.port ?? 0) }, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var it = ports.makeAsyncIterator()
            let port = await it.next() ?? 0
            defer { group.cancelAll() }
            try await body(receiver, "http://127.0.0.1:\(port)")
        }
    }
}
