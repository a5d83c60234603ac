import Foundation
import FuelLab
import FuelClient
import FuelSim
import Synchronization

/// Many station collectors pushing at once, each in its own task, paced to a total record rate,
/// until told to drain: then they send only what is still unacknowledged, until all of it is or
/// the drain deadline passes. A collector honours Retry-After (at most 2 s) and, after a transport
/// error, waits half a second — what a real collector does.
package struct CollectorFleet: Sendable {
    /// Records per second over all stations.
    package var recordsPerSecond = 400.0
    /// Records per push.
    package var batch = 5
    /// Chance that a push also goes, at the same moment, to a second daemon (replicas).
    package var sameBatchToTwoDaemons = 0.0
    /// Chance, per push, of a seq conflict made on purpose: one new seq, two contents, two daemons at once.
    package var conflictChance = 0.0
    package var drainSeconds = 120.0

    package init() {}

    /// Switches the fleet from pushing to draining.
    package final class Control: Sendable {
        private let draining = Atomic<Bool>(false)
        private let drainStart = Mutex<ContinuousClock.Instant?>(nil)
        package init() {}
        package func drain() {
            drainStart.withLock { $0 = $0 ?? .now }
            draining.store(true, ordering: .sequentiallyConsistent)
        }
        var isDraining: Bool { draining.load(ordering: .sequentiallyConsistent) }

        /// Daemons taken out of rotation, as a load balancer does with a replica being replaced.
        private let outOfRotation = Mutex<Set<Int>>([])
        package func setInRotation(_ daemon: Int, _ inRotation: Bool) {
            outOfRotation.withLock { if inRotation { $0.remove(daemon) } else { $0.insert(daemon) } }
        }
        /// A daemon in rotation, drawn with `pick` (every one when all are out).
        func daemon(of count: Int, _ pick: UInt64) -> Int {
            let out = outOfRotation.withLock { $0 }
            let candidates = (0..<count).filter { !out.contains($0) }
            let pool = candidates.isEmpty ? Array(0..<count) : candidates
            return pool[Int(pick % UInt64(pool.count))]
        }
        func drainedFor() -> Double { drainStart.withLock { $0 }.map { (ContinuousClock.now - $0) / .seconds(1) } ?? 0 }
    }

    /// Drives `collectors` against `clients` (one per daemon) until `control` drains and they are done.
    package func drive(_ collectors: [Collector], clients: [FuelwardenClient], control: Control) async -> [Collector] {
        let perStation = recordsPerSecond / Double(max(1, collectors.count))
        let interval = Duration.seconds(Double(batch) / perStation)
        return await withTaskGroup(of: Collector.self) { group in
            for (i, start) in collectors.enumerated() {
                group.addTask {
                    var c = start
                    var rng = SeededRandom(seed: UInt64(i) &* 7_777 &+ 17)
                    var due = ContinuousClock.now + interval * rng.uniform()
                    while true {
                        let draining = control.isDraining
                        if draining && (c.isComplete || control.drainedFor() > drainSeconds) { break }
                        if !draining {
                            if ContinuousClock.now < due { try? await Task.sleep(until: due, clock: .continuous) }
                            due = max(due + interval, ContinuousClock.now - interval)
                            if control.isDraining { continue }
                        }
                        var failed: PushAttempt?
                        if !draining, clients.count > 1, rng.uniform() < conflictChance {
                            let seq = c.newSeq(conflict: true)
                            let (a, b) = Self.twoDifferent(clients.count, &rng)
                            let snapshot = c
                            async let x = snapshot.send([seq], variants: [0], to: clients[a])
                            async let y = snapshot.send([seq], variants: [1], to: clients[b])
                            let (ax, ay) = await (x, y)
                            c.settle(ax)
                            c.settle(ay)
                            failed = [ax, ay].first { $0.status != 200 }
                        } else {
                            let seqs = c.nextBatch(size: batch, fresh: !draining)
                            if seqs.isEmpty { break }
                            if clients.count > 1, rng.uniform() < sameBatchToTwoDaemons {
                                let (a, b) = Self.twoDifferent(clients.count, &rng)
                                let snapshot = c
                                async let x = snapshot.send(seqs, to: clients[a])
                                async let y = snapshot.send(seqs, to: clients[b])
                                let (ax, ay) = await (x, y)
                                c.settle(ax)
                                c.settle(ay)
                                failed = [ax, ay].first { $0.status != 200 }
                            } else {
                                let a = await c.send(seqs, to: clients[control.daemon(of: clients.count, rng.next())])
                                c.settle(a)
                                if a.status != 200 { failed = a }
                            }
                        }
                        if let failed {
                            let pause = failed.status == nil ? 0.5 : min(2, Double(failed.retryAfter ?? "") ?? 0.5)
                            try? await Task.sleep(for: .seconds(pause))
                        }
                    }
                    return c
                }
            }
            var done: [Collector] = []
            for await c in group { done.append(c) }
            return done.sorted { $0.station < $1.station }
        }
    }

    static func twoDifferent(_ n: Int, _ rng: inout SeededRandom) -> (Int, Int) {
        let a = Int(rng.next() % UInt64(n))
        let b = (a + 1 + Int(rng.next() % UInt64(n - 1))) % n
        return (a, b)
    }
}
