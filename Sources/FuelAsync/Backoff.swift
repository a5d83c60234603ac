import Foundation

/// Capped exponential backoff with jitter, honouring a server's Retry-After.
///
/// After the n-th consecutive failure the wait is `base · 2^(n−1)`, at most `cap`, with up to
/// `jitter` of it taken off at random so that many clients failing together do not come back in
/// step. A Retry-After the server sent is a floor: the wait is never shorter than what the server
/// asked for (bounded by `maxRetryAfter`, so a broken header cannot park a client for a year).
/// Used by the outbox notifier, the ATG poller and the push client: one policy, one place.
public struct Backoff: Sendable, Hashable {
    /// The wait after the first failure.
    public var base: Duration
    /// The longest wait the doubling reaches.
    public var cap: Duration
    /// Share of a wait (0…1) that may be taken off at random.
    public var jitter: Double
    /// The longest Retry-After honoured.
    public var maxRetryAfter: Duration

    public init(base: Duration, cap: Duration, jitter: Double = 0.2, maxRetryAfter: Duration = .seconds(3600)) {
        self.base = base
        self.cap = max(cap, base)
        self.jitter = min(max(jitter, 0), 1)
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait before the next attempt after `failures` consecutive failures (1 or more).
    public func delay(afterFailures failures: Int, retryAfter: Duration? = nil) -> Duration {
        var rng = SystemRandomNumberGenerator()
        return delay(afterFailures: failures, retryAfter: retryAfter, using: &rng)
    }

    /// As ``delay(afterFailures:retryAfter:)``, drawing the jitter from `rng` (tests pass a seeded one).
    public func delay(afterFailures failures: Int, retryAfter: Duration? = nil, using rng: inout some RandomNumberGenerator) -> Duration {
        let doublings = min(max(failures, 1) - 1, 62)
        let baseSeconds = base.inSeconds, capSeconds = cap.inSeconds
        // Stop doubling once past the cap (2^62 · base would overflow the Duration).
        let exponential = doublings >= 62 ? capSeconds : min(capSeconds, baseSeconds * pow(2, Double(doublings)))
        let taken = jitter > 0 ? Double.random(in: 0...jitter, using: &rng) : 0
        var seconds = exponential * (1 - taken)
        if let retryAfter {
            seconds = max(seconds, min(retryAfter, maxRetryAfter).inSeconds)
        }
        return .seconds(seconds)
    }

    /// A Retry-After header's value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); nil when absent
    /// or unreadable, and zero for a date already past.
    public static func retryAfter(_ header: String?, now: Date = Date()) -> Duration? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .seconds(max(0, date.timeIntervalSince(now)))
    }
}
