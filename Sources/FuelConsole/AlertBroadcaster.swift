import FuelModel
import FuelStore
import Foundation
import Logging

/// New alerts for every live stream of this daemon from one listener: PostgreSQL announces each new
/// alert's id when its transaction commits (`AlertStore.raisedChannel`), the broadcaster reads the
/// announced alerts in one query per burst and hands them to every subscriber. Streams neither poll
/// the table nor miss an alert whose lower id committed after a higher one.
///
/// While the listener is down (the database restarting) streams get nothing; once it is back the
/// broadcaster catches up by id from the highest it delivered, and a client that reconnects with
/// `Last-Event-ID` catches up itself.
public actor AlertBroadcaster {
    /// What a subscriber receives.
    public enum Event: Sendable {
        case alerts([AlertRecord])
        /// Sent every `tick` whatever happens: a stream checks whether the daemon is stopping and
        /// whether it owes its client a keepalive.
        case tick
    }

    let alerts: AlertStore
    let tick: Duration
    let logger: Logger
    /// A subscriber that falls this many events behind is ended (it reconnects and catches up).
    static let backlog = 1_000

    private var subscribers: [UUID: AsyncStream<Event>.Continuation] = [:]
    private var pending: [Int64] = []
    private var flushing = false
    private var highest: Int64 = 0
    private var listening = false

    public init(alerts: AlertStore, tick: Duration = .milliseconds(500), logger: Logger) {
        self.alerts = alerts
        self.tick = tick
        self.logger = logger
    }

    /// Whether the listener is in place (a stream started before it would miss alerts and polls instead).
    public var isListening: Bool { listening }

    /// A new subscription: its events until `unsubscribe` or the broadcaster stops.
    public func subscribe() -> (id: UUID, events: AsyncStream<Event>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(Self.backlog))
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return (id, stream)
    }

    public func unsubscribe(_ id: UUID) {
        subscribers.removeValue(forKey: id)?.finish()
    }

    /// Listens until cancelled, reconnecting after a failure; ends every subscription when it stops.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.ticks() }
            group.addTask { await self.listen() }
            await group.next()
            group.cancelAll()
        }
        for (_, c) in subscribers { c.finish() }
        subscribers = [:]
        listening = false
    }

    private func listen() async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                try await alerts.listenForRaised(onListening: { await self.listened() }, onID: { await self.announced($0) })
            } catch {
                guard !Task.isCancelled else { return }
                listening = false
                logger.warning("alert listener lost; reconnecting", metadata: ["error": "\(describeDatabaseError(error))", "retry_in": "\(delay)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(10))
        }
    }

    /// The LISTEN is in place: after a reconnect, what committed while it was down is read by id.
    private func listened() async {
        let first = highest == 0
        listening = true
        if first {
            highest = (try? await alerts.latestID()) ?? 0
            return
        }
        do {
            var batch = try await alerts.raised(after: highest, limit: 500)
            while !batch.isEmpty {
                deliver(batch)
                batch = batch.count < 500 ? [] : try await alerts.raised(after: highest, limit: 500)
            }
        } catch {
            logger.warning("alerts missed while the listener was down are left to the clients' reconnect", metadata: ["error": "\(describeDatabaseError(error))"])
        }
    }

    private func announced(_ id: Int64) {
        pending.append(id)
        guard !flushing else { return }
        flushing = true
        Task { await self.flush() }
    }

    /// Reads what was announced, a burst of commits in one query.
    private func flush() async {
        try? await Task.sleep(for: .milliseconds(20))
        while !pending.isEmpty {
            let ids = pending
            pending = []
            do {
                deliver(try await alerts.alerts(ids: ids))
            } catch {
                logger.warning("announced alerts not read", metadata: ["ids": "\(ids.count)", "error": "\(describeDatabaseError(error))"])
            }
        }
        flushing = false
    }

    private func deliver(_ batch: [AlertRecord]) {
        guard !batch.isEmpty else { return }
        highest = max(highest, batch.map(\.id).max() ?? 0)
        for (id, c) in subscribers {
            if case .dropped = c.yield(.alerts(batch)) {
                // A client too slow to take its alerts: end its stream rather than skip some.
                subscribers.removeValue(forKey: id)?.finish()
            }
        }
    }

    private func ticks() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            for (_, c) in subscribers { c.yield(.tick) }
        }
    }
}
