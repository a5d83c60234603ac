import AsyncHTTPClient
import Crypto
import Foundation
import FuelAsync
import FuelFeeds
import FuelLedger
import FuelStore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Delivers the outbox to webhooks (after Alertmanager's notifier): claims due messages, POSTs each
/// payload, logs every attempt, retries only what can succeed later (no answer, timeouts, 408, 429,
/// 5xx) with exponential backoff, and marks the rest failed. A message is marked delivered only
/// after a 2xx, so a crash between send and log means one more delivery, never none: receivers
/// dedupe on `Fuelwarden-Delivery` (the outbox id).
public struct OutboxNotifier: Service {
    let store: OutboxStore
    let settings: NotifySettings
    let http: HTTPClient
    let logger: Logger

    public init(store: OutboxStore, settings: NotifySettings, http: HTTPClient = .shared, logger: Logger) {
        self.store = store
        self.settings = settings
        self.http = http
        self.logger = logger
    }

    /// Delivers until graceful shutdown (with no webhook configured: only says so, then waits for it).
    public func run() async throws {
        let recipients = settings.routableRecipients
        guard !recipients.isEmpty else {
            logger.notice("no notify.*_url configured: notifications stay in the outbox undelivered")
            try? await gracefulShutdown()
            return
        }
        try await untilGracefulShutdown { await loop(recipients: recipients) }
    }

    private func loop(recipients: [String]) async {
        while !Task.isCancelled {
            do {
                let due = try await store.claimDue(recipients: recipients, limit: 20, leaseSeconds: (settings.timeout * 2 + .seconds(5)).inSeconds)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for item in due { group.addTask { try await deliver(item) } }
                    try await group.waitForAll()
                }
                if !due.isEmpty { continue }
            } catch {
                logger.warning("outbox not delivered", metadata: ["error": "\(describeDatabaseError(error))"])
            }
            try? await Task.sleep(for: settings.interval)
        }
    }

    /// One attempt for one message.
    func deliver(_ item: OutboxItem) async throws {
        guard let url = settings.url(for: item.recipient) else { return }
        let started = ContinuousClock.now
        var status: Int?
        var failure: String?
        do {
            var req = HTTPClientRequest(url: url)
            req.method = .POST
            req.headers.add(name: "Content-Type", value: "application/json")
            req.headers.add(name: "Fuelwarden-Delivery", value: "\(item.id)")
            req.headers.add(name: "Fuelwarden-Topic", value: item.topic)
            req.headers.add(name: "Fuelwarden-Recipient", value: item.recipient)
            if let secret = settings.secret {
                req.headers.add(name: "Fuelwarden-Signature", value: "sha256=" + Self.signature(of: item.payload, secret: secret))
            }
            req.body = .bytes(ByteBuffer(string: item.payload))
            let res = try await http.execute(req, timeout: TimeAmount(settings.timeout))
            status = Int(res.status.code)
            let text = String(buffer: try await res.body.collect(upTo: 16 * 1024))
            if !(200..<300).contains(status!) { failure = "HTTP \(status!): \(text.prefix(500))" }
        } catch {
            failure = "\(error)"
        }
        let millis = Int((ContinuousClock.now - started) / .milliseconds(1))
        let result: OutboxStore.AttemptResult
        if failure == nil {
            result = .delivered
        } else if Self.isRecoverable(status: status), item.attempts < settings.maxAttempts {
            let delay = Backoff(base: settings.retryBase, cap: .seconds(3600)).delay(afterFailures: item.attempts)
            result = .retry(at: Date().addingTimeInterval(delay.inSeconds))
        } else {
            result = .failed
        }
        try await store.record(item, url: url, httpStatus: status, error: failure, millis: millis, result: result)
        let meta: Logger.Metadata = ["outbox": "\(item.id)", "recipient": "\(item.recipient)", "attempt": "\(item.attempts)"]
        switch result {
        case .delivered: logger.info("notification delivered", metadata: meta)
        case .retry: logger.warning("notification not delivered, will retry", metadata: meta.merging(["error": "\(failure ?? "")"]) { $1 })
        case .failed: logger.error("notification failed for good", metadata: meta.merging(["error": "\(failure ?? "")"]) { $1 })
        }
    }

    /// No answer at all (nil), a timeout, throttling or a server error may succeed later; any other
    /// refusal will not.
    static func isRecoverable(status: Int?) -> Bool {
        guard let s = status else { return true }
        return s == 408 || s == 429 || s >= 500
    }

    static func signature(of payload: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Array(mac).hexString
    }
}
