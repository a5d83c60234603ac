import FuelModel
import FuelStore
import Prometheus
import Synchronization

/// Every Prometheus metric of the daemon, registered here and nowhere else (the registry traps
/// when one name is registered with two types or help texts).
public final class FuelMetrics: Sendable {
    // MetricNameDescriptor is a plain value without a Sendable conformance; these are never mutated.
    public let registry: PrometheusCollectorRegistry

    nonisolated(unsafe) private static let records = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "records", unitName: "total",
        helpText: "Records received, by kind and verdict (accepted, duplicate, rejected).")
    nonisolated(unsafe) private static let ingestLatency = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "ingest_duration", unitName: "seconds",
        helpText: "Time to answer a push request, from first byte read to the verdict.")
    nonisolated(unsafe) private static let openAlerts = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "alerts_open", unitName: "",
        helpText: "Unresolved alerts by rule.")
    nonisolated(unsafe) private static let poolConnections = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "db_connections_max", unitName: "",
        helpText: "Configured maximum of the PostgreSQL connection pool.")
    nonisolated(unsafe) private static let poolInUse = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "db_requests_in_flight", unitName: "",
        helpText: "Database operations in flight (leased pool connections).")
    nonisolated(unsafe) private static let detectionLag = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "detection_backlog_stations", unitName: "",
        helpText: "Stations with committed records the detectors have not processed yet.")
    nonisolated(unsafe) private static let alertsRaised = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "alerts_raised", unitName: "total",
        helpText: "Alerts opened, by rule.")
    nonisolated(unsafe) private static let undecodableState = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "detector_state_undecodable", unitName: "total",
        helpText: "Stored detector states that no longer decoded; those stations restarted detection from their cursor.")
    nonisolated(unsafe) private static let stateReads = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "detector_state_reads", unitName: "total",
        helpText: "Detection passes by where the station's state came from: memory (this daemon committed it last) or database.")

    nonisolated(unsafe) private static let buildSchema = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "build_schema_version", unitName: "",
        helpText: "The schema version this build ships (its newest migration).")
    nonisolated(unsafe) private static let schema = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "schema_version", unitName: "",
        helpText: "The database's schema version (its newest applied migration), as last read by /readyz.")
    nonisolated(unsafe) private static let schemaCompatible = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "schema_compatible", unitName: "",
        helpText: "1 when this build may serve on the database's schema (expand/contract), else 0.")

    nonisolated(unsafe) private static let appendBatches = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "append_batches", unitName: "total",
        helpText: "Append transactions committed or failed by group commit (pushes and feed packets that arrived together).")
    nonisolated(unsafe) private static let appendBatchedRequests = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "append_batched_requests", unitName: "total",
        helpText: "Pushes and feed packets appended through group commit (divided by append_batches_total: requests a commit).")
    nonisolated(unsafe) private static let appendFailedBatches = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "append_failed_batches", unitName: "total",
        helpText: "Append transactions that failed (every request in them answered 503, none committed).")
    nonisolated(unsafe) private static let appendExpired = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "append_expired_requests", unitName: "total",
        helpText: "Requests answered 503 while waiting for their commit (deadline passed, or the database went down).")
    nonisolated(unsafe) private static let appendWaiting = MetricNameDescriptor(
        namespace: "fuelwarden", metricName: "append_waiting_requests", unitName: "",
        helpText: "Requests queued for the next append transaction.")

    public let ingestHistogram: DurationHistogram
    /// Stored detector states that did not decode (a format change): each one is also logged.
    public let undecodableDetectorStates: Counter
    public let inFlight: Gauge
    public let backlog: Gauge

    public init(poolMax: Int) {
        registry = PrometheusCollectorRegistry()
        ingestHistogram = registry.makeDurationHistogram(
            descriptor: Self.ingestLatency, labels: [],
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)])
        inFlight = registry.makeGauge(descriptor: Self.poolInUse, labels: [])
        backlog = registry.makeGauge(descriptor: Self.detectionLag, labels: [])
        undecodableDetectorStates = registry.makeCounter(descriptor: Self.undecodableState, labels: [])
        registry.makeGauge(descriptor: Self.poolConnections, labels: []).set(Double(poolMax))
        for kind in RecordKind.allCases.map(\.rawValue) + ["unknown"] {
            for verdict in ["accepted", "duplicate", "rejected"] {
                _ = registry.makeCounter(descriptor: Self.records, labels: [("kind", kind), ("verdict", verdict)])
            }
        }
    }

    /// The build's and the database's schema versions, and whether the build may serve on it.
    public func schema(build: Int, database: Int?, compatible: Bool?) {
        registry.makeGauge(descriptor: Self.buildSchema, labels: []).set(Double(build))
        if let database { registry.makeGauge(descriptor: Self.schema, labels: []).set(Double(database)) }
        if let compatible { registry.makeGauge(descriptor: Self.schemaCompatible, labels: []).set(compatible ? 1.0 : 0.0) }
    }

    public func count(kind: String, verdict: String, _ n: Int) {
        guard n > 0 else { return }
        registry.makeCounter(descriptor: Self.records, labels: [("kind", kind), ("verdict", verdict)]).increment(by: Int64(n))
    }

    /// A detection pass started from the state this daemon committed last (`fromMemory`) or read it back.
    public func detectorStateRead(fromMemory: Bool) {
        registry.makeCounter(descriptor: Self.stateReads, labels: [("from", fromMemory ? "memory" : "database")]).increment()
    }

    public func alertRaised(rule: String) {
        registry.makeCounter(descriptor: Self.alertsRaised, labels: [("rule", rule)]).increment()
    }

    public func setOpenAlerts(_ byRule: [String: Int], rules: [String]) {
        for rule in Set(rules).union(byRule.keys) {
            registry.makeGauge(descriptor: Self.openAlerts, labels: [("rule", rule)]).set(Double(byRule[rule] ?? 0))
        }
    }

    /// Group commit's running totals, as counters (the coalescer keeps totals; a counter only grows, so the growth since the last scrape is added).
    public func appends(_ stats: AppendCoalescer.Statistics, waiting: Int) {
        let last = lastAppendStatistics.withLock { last in
            defer { last = stats }
            return last
        }
        for (descriptor, now, then) in [(Self.appendBatches, stats.batches, last.batches), (Self.appendBatchedRequests, stats.requests, last.requests),
                                        (Self.appendFailedBatches, stats.failedBatches, last.failedBatches), (Self.appendExpired, stats.expired, last.expired)] {
            registry.makeCounter(descriptor: descriptor, labels: []).increment(by: Int64(max(0, now - then)))
        }
        registry.makeGauge(descriptor: Self.appendWaiting, labels: []).set(Double(waiting))
    }

    private let lastAppendStatistics = Mutex(AppendCoalescer.Statistics())

    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
