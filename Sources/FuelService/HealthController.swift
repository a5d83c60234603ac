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

    public init(database: FuelDatabase, migrator: Migrator, alerts: AlertStore, metrics: FuelMetrics) {
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

    @Sendable func ready(_ request: Request, context: FuelRequestContext) async throws -> Response {
        var problems: [String] = []
        if let outage = database.health.outage {
            problems.append(outage.reason)
        } else if await database.ping(seconds: 1) {
            do {
                let migrator = self.migrator
                let status = try await withDeadline(.seconds(1), "migration status") { try await migrator.status() }
                if !status.isCurrent {
                    problems.append("schema at \(status.applied.last ?? 0), package ships \(status.latest): run fuelwarden migrate")
                }
            } catch {
                problems.append("migration status unknown: \(describeDatabaseError(error))")
            }
        } else {
            problems.append("database \(database.url) does not answer")
        }
        if problems.isEmpty { return try JSONResponse.make(["status": "ready"]) }
        var r = try JSONResponse.make(["status": "not ready", "reason": problems.joined(separator: "; ")], status: .serviceUnavailable)
        r.headers[.retryAfter] = "2"
        return r
    }

    @Sendable func scrape(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let alerts = self.alerts
        if let counts = try? await withDeadline(.seconds(1), "open alerts", { try await alerts.openCounts() }) {
            metrics.setOpenAlerts(counts, rules: AlertRule.allCases.map(\.rawValue))
        }
        metrics.inFlight.set(Double(database.inFlight.value))
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
}
