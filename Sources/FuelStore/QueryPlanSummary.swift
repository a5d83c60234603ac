import Foundation
import Logging
import PostgresNIO

/// What PostgreSQL did for one query, from `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`: planning and
/// execution time, how many of the ledger's partitions the plan held and how many it actually
/// read (run-time pruning leaves the others "never executed"), and the pages it touched. `bench
/// growth --explain` prints one per read path at each size, so a cost that grows is seen where it
/// grows; tests hold reads to the months they need with it.
package struct QueryPlanSummary: Sendable, CustomStringConvertible {
    package var planningMs: Double
    package var executionMs: Double
    /// Scans of a ledger partition in the plan, and of those the ones that ran.
    package var partitionsPlanned: Int
    package var partitionsRead: Int { partitions.count }
    /// The ledger partitions read, by name.
    package var partitions: Set<String>
    package var pagesHit: Int
    package var pagesRead: Int

    package var description: String {
        String(format: "planning %.2f ms, execution %.2f ms, ledger partitions read %d of %d planned, pages %d cached + %d read",
               planningMs, executionMs, partitionsRead, partitionsPlanned, pagesHit, pagesRead)
    }

    /// Runs `query` under EXPLAIN ANALYZE on `conn` (it is executed: use it for reads only).
    package static func explain(_ query: PostgresQuery, on conn: PostgresConnection, logger: Logger) async throws -> QueryPlanSummary {
        let explained = PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query.sql, binds: query.binds)
        var text = ""
        // The plan is of type json, which the driver hands over as bytes.
        for try await line in try await conn.query(explained, logger: logger).decode(ByteBuffer.self) { text += String(buffer: line) }
        return try parse(json: text)
    }

    /// The summary of EXPLAIN's JSON output.
    package static func parse(json: String) throws -> QueryPlanSummary {
        guard let top = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])?.first,
              let plan = top["Plan"] as? [String: Any] else { throw StoreError.invalid("EXPLAIN answered no plan: \(json.prefix(200))") }
        var planned = 0, read: Set<String> = []
        func walk(_ node: [String: Any]) {
            if let relation = node["Relation Name"] as? String, relation.hasPrefix("ledger") {
                planned += 1
                if (node["Actual Loops"] as? Int ?? 0) > 0 { read.insert(relation) }
            }
            for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
        }
        walk(plan)
        return QueryPlanSummary(planningMs: top["Planning Time"] as? Double ?? .nan, executionMs: top["Execution Time"] as? Double ?? .nan,
                                partitionsPlanned: planned, partitions: read,
                                pagesHit: plan["Shared Hit Blocks"] as? Int ?? 0, pagesRead: plan["Shared Read Blocks"] as? Int ?? 0)
    }
}
