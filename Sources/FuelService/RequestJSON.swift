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

    /// Refuses a NUL in a text field the daemon keeps (PostgreSQL text cannot hold one), naming the field.
    static func requireNoNUL(_ value: String?, field: String) throws {
        if let value, value.unicodeScalars.contains("\u{0}") {
            throw APIError(.badRequest, "\(field): contains a NUL character, which no text field can hold")
        }
    }

    /// Refuses text longer than `limit` characters (Unicode scalars, as JSON Schema's maxLength counts).
    static func requireAtMost(_ limit: Int, _ value: String?, field: String) throws {
        if let value, value.unicodeScalars.count > limit {
            throw APIError(.badRequest, "\(field): at most \(limit) characters")
        }
    }

    /// ASCII whitespace only, as the OpenAPI document's patterns define blank (`[^\t\n\v\f\r ]`).
    static let blankCharacters = CharacterSet(charactersIn: " \t\n\u{0B}\u{0C}\r")

    /// Empty or only ASCII whitespace.
    static func isBlank(_ s: String) -> Bool { s.unicodeScalars.allSatisfy { blankCharacters.contains($0) } }

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
