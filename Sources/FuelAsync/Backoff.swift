#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
        let exponential = doublings >= 62 ? capSeconds : min(capSeconds, baseSeconds * Double(1 << doublings))
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
        guard let header else { return nil }
        let text = String(header.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard !text.isEmpty else { return nil }
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        guard let date = httpDate(text) else { return nil }
        return .seconds(max(0, date.timeIntervalSince(now)))
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7), the form senders must use.
    /// Read by hand: `DateFormatter` is in the full Foundation, which the station agent is built
    /// without (it loads ICU; issue 16), and FoundationEssentials has no HTTP-date style.
    static func httpDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), parts[5] == "GMT",
              let day = Int(parts[1]), (1...31).contains(day),
              let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]), (1900...9999).contains(year) else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, let h = Int(clock[0]), let m = Int(clock[1]), let s = Int(clock[2]),
              (0...23).contains(h), (0...59).contains(m), (0...60).contains(s) else { return nil }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(secondsFromGMT: 0)!
        let components = DateComponents(year: year, month: month + 1, day: day, hour: h, minute: m, second: s)
        guard let date = utc.date(from: components), utc.component(.day, from: date) == day else { return nil }
        return date
    }
}
