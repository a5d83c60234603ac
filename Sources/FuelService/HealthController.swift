import FuelStore
import FuelModel
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Open endpoints for probes and scrapers: `/healthz`, `/readyz`, `/metrics`.
public struct HealthController: Sendable {
    let database: FuelDatabase
    let migrator: Migrator
    let alerts: AlertStore
    let metrics: FuelMetrics
    /// Group commit, whose totals the scrape exports.
    let appends: AppendCoalescer?
    private let lastStatus = StatusCache()

    final class StatusCache: Sendable {
        private let value = Mutex<(Migrator.Status, ContinuousClock.Instant)?>(nil)
        func withLock<T>(_ body: (inout (Migrator.Status, ContinuousClock.Instant)?) -> T) -> T { value.withLock { body(&$0) } }
    }

    public init(database: FuelDatabase, migrator: Migrator, alerts: AlertStore, metrics: FuelMetrics, appends: AppendCoalescer? = nil) {
        self.appends = appends
        self.database = database
        self.migrator = migrator
        self.alerts = alerts
        self.metrics = metrics
    }

    public func addRoutes(to router: Router<FuelRequestContext>) {
        router.get("healthz") { _, _ in try JSONResponse.make(["status": "ok"]) }
        router.get("readyz", use: ready)
        router.get("metrics", use: scrape)
        router.get("openapi.yaml") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
                  let data = try? Data(contentsOf: url) else { throw APIError(.notFound, "the OpenAPI document is not installed") }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    /// Ready when the database answers and this build may serve on its schema: everything the
    /// build ships is applied and every newer migration is marked compatible (expand/contract).
    /// The answer names the build's and the schema's versions either way.
    @Sendable func ready(_ request: Request, context: FuelRequestContext) async throws -> Response {
        var problems: [String] = []
        var answer = ReadyAnswer(status: "ready", buildSchema: migrator.buildVersion)
        if let outage = database.health.outage {
            problems.append(outage.reason)
        } else if await database.ping(seconds: 1) {
            do {
                let status = try await schemaStatus()
                answer.schema = status.schemaVersion
                answer.compatible = status.isCurrent
                if let problem = status.problem { problems.append(problem) }
            } catch {
                problems.append("migration status unknown: \(describeDatabaseError(error))")
            }
        } else {
            problems.append("database \(database.url) does not answer")
        }
        metrics.schema(build: migrator.buildVersion, database: answer.schema, compatible: answer.compatible)
        if problems.isEmpty { return try JSONResponse.make(answer) }
        answer.status = "not ready"
        answer.reason = problems.joined(separator: "; ")
        var r = try JSONResponse.make(answer, status: .serviceUnavailable)
        r.headers[.retryAfter] = "2"
        return r
    }

    /// The schema's status, read at most every 2 s; when a read is slow (a loaded database) a
    /// status read within the last 15 s answers instead, so a busy replica is not taken out of
    /// service for being busy.
    func schemaStatus() async throws -> Migrator.Status {
        let now = ContinuousClock.now
        let cached = lastStatus.withLock { $0 }
        if let (status, at) = cached, now - at < .seconds(2) { return status }
        let migrator = self.migrator
        do {
            let status = try await withDeadline(.seconds(1), "migration status") { try await migrator.status() }
            lastStatus.withLock { $0 = (status, .now) }
            return status
        } catch {
            if let (status, at) = cached, now - at < .seconds(15) { return status }
            throw error
        }
    }

    struct ReadyAnswer: Encodable {
        var status: String
        var reason: String?
        var buildSchema: Int
        var schema: Int?
        var compatible: Bool?

        enum CodingKeys: String, CodingKey {
            case status, reason, buildSchema = "build_schema", schema, compatible
        }
    }

    @Sendable func scrape(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let alerts = self.alerts
        // 5 s, half Prometheus's default scrape timeout: with 1 s the gauge went missing from a scrape
        // under the whole test suite on two cores (CI of 2026-12-05); on a failure the last values stay.
        if let counts = try? await withDeadline(.seconds(5), "open alerts", { try await alerts.openCounts() }) {
            metrics.setOpenAlerts(counts, rules: AlertRule.allCases.map(\.rawValue))
        }
        metrics.inFlight.set(Double(database.inFlight.value))
        if let appends { metrics.appends(appends.statistics, waiting: appends.waitingRequests) }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
}
