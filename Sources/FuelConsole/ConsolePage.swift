import FuelModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What every console response carries: a Content-Security-Policy that allows only the daemon's
/// own assets (no inline script or style, no framing), no referrer, no sniffing.
enum ConsoleHeaders {
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
        "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
    ].joined(separator: "; ")

    static var base: HTTPFields {
        var h = HTTPFields()
        h[.contentSecurityPolicy] = contentSecurityPolicy
        h[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        h[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return h
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok, extra: HTTPFields = [:]) -> Response {
        var h = base
        h[.contentType] = "text/html; charset=utf-8"
        h[.cacheControl] = "no-store"
        for f in extra { h.append(f) }
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// 303 See Other to a path of the console.
    static func redirect(_ location: String, extra: HTTPFields = [:]) -> Response {
        var h = base
        h[.location] = location
        h[.cacheControl] = "no-store"
        for f in extra { h.append(f) }
        return Response(status: .seeOther, headers: h)
    }
}

/// Times as the console shows them: Beijing time (Asia/Shanghai, UTC+8 all year), minutes.
enum ConsoleTime {
    static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600)!
        return c
    }()

    static func text(_ date: Date) -> String {
        let p = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", p.year ?? 0, p.month ?? 0, p.day ?? 0, p.hour ?? 0, p.minute ?? 0, p.second ?? 0)
    }

    /// Midnight in Beijing of a `yyyy-mm-dd` date.
    static func startOfDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
    }
}

/// A console path a form may send the browser back to: the console's own, nothing else.
enum ConsolePath {
    static func safe(_ path: String?, fallback: String = "/console/alerts") -> String {
        guard let p = path, p.hasPrefix("/console/"), !p.contains("//"), !p.contains("\\"), p.count <= 2048,
              !p.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return fallback }
        return p
    }
}

/// Form bodies (`application/x-www-form-urlencoded`), bounded, decoded by Hummingbird's decoder.
enum ConsoleForm {
    static let maxBytes = 16 * 1024

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: maxBytes)
        return try URLEncodedFormDecoder().decode(T.self, from: String(buffer: buffer))
    }
}
