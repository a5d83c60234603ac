import FuelStore
import Foundation
import Hummingbird

/// `GET /v1/outbox[?status=pending|delivered|failed&topic=…&recipient=…&limit=N]` (admin): the
/// notifications and every delivery attempt.
public struct OutboxController: Sendable {
    let store: OutboxStore

    public init(store: OutboxStore) { self.store = store }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("outbox", use: list)
    }

    struct DeliveryDTO: Encodable {
        var attempt: Int
        var at: Date
        var url: String?
        var httpStatus: Int?
        var error: String?
        var millis: Int
        enum CodingKeys: String, CodingKey {
            case attempt, at, url, httpStatus = "http_status", error, millis
        }
    }

    struct ItemDTO: Encodable {
        var id: Int64
        var topic: String
        var recipient: String
        var subject: String
        var payload: JSONFragment
        var status: String
        var attempts: Int
        var nextAttemptAt: Date
        var createdAt: Date
        var deliveredAt: Date?
        var lastError: String?
        var deliveries: [DeliveryDTO]
        enum CodingKeys: String, CodingKey {
            case id, topic, recipient, subject, payload, status, attempts, nextAttemptAt = "next_attempt_at", createdAt = "created_at"
            case deliveredAt = "delivered_at", lastError = "last_error", deliveries
        }
    }

    struct ListDTO: Encodable { var notifications: [ItemDTO] }

    @Sendable func list(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.admin)
        let q = request.uri.queryParameters
        var status: OutboxItem.Status?
        if let s = q.get("status") {
            guard let v = OutboxItem.Status(rawValue: s) else {
                throw APIError(.badRequest, "status: expected pending, delivered or failed, got \"\(s)\"")
            }
            status = v
        }
        var limit = 200
        if let l = q.get("limit") {
            guard let n = Int(l), (1...5000).contains(n) else { throw APIError(.badRequest, "limit: expected 1…5000, got \"\(l)\"") }
            limit = n
        }
        let topic = q.get("topic")
        if let topic, !OutboxStore.topics.contains(topic) {
            throw APIError(.badRequest, "topic: expected \(OutboxStore.topics.joined(separator: " or ")), got \"\(topic)\"")
        }
        let items = try await store.list(status: status, topic: topic, recipient: q.get("recipient"), limit: limit)
        let log = Dictionary(grouping: try await store.deliveries(of: items.map(\.id)), by: \.outboxID)
        return try JSONResponse.make(ListDTO(notifications: items.map { i in
            ItemDTO(id: i.id, topic: i.topic, recipient: i.recipient, subject: i.subject, payload: JSONFragment(i.payload),
                    status: i.status.rawValue, attempts: i.attempts, nextAttemptAt: i.nextAttemptAt, createdAt: i.createdAt,
                    deliveredAt: i.deliveredAt, lastError: i.lastError,
                    deliveries: (log[i.id] ?? []).map {
                        DeliveryDTO(attempt: $0.attempt, at: $0.at, url: $0.url, httpStatus: $0.httpStatus, error: $0.error, millis: $0.millis)
                    })
        }))
    }
}
