import Foundation
import Hummingbird

/// JSON request bodies: size-limited, and a decoding failure answered 400 naming the field.
enum RequestJSON {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 64 * 1024, example: String) async throws -> T {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "body: at most \(limit) bytes")
        }
        let decoder = JSONDecoder()
        do {
            return try decoder.decode(T.self, from: Data(body.readableBytesView))
        } catch let e as DecodingError {
            throw APIError(.badRequest, "body: \(describe(e)); expected \(example)")
        } catch {
            throw APIError(.badRequest, "body: not JSON; expected \(example)")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .keyNotFound(let key, let ctx): return "\(path(ctx.codingPath + [key])): missing"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx): return "\(path(ctx.codingPath)): wrong type"
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not valid JSON" : "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "cannot be read"
        }
    }
}
