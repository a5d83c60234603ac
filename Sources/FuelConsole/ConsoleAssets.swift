import Crypto
import Foundation
import Hummingbird
import NIOCore

/// The console's stylesheet and script, served by the daemon itself (the province's network is
/// closed: no CDN, no external fonts). Each is addressed by a fingerprint of its content
/// (`/console/assets/console.<12 hex>.css`), so it can be cached for a year and a new build's
/// pages ask for the new file.
public struct ConsoleAssets: Sendable {
    public struct Asset: Sendable {
        public var name: String
        public var contentType: String
        public var bytes: [UInt8]
        public var fingerprint: String
        /// The path a page links to.
        public var path: String {
            guard let dot = name.lastIndex(of: ".") else { return "/console/assets/\(name).\(fingerprint)" }
            return "/console/assets/\(name[..<dot]).\(fingerprint)\(name[dot...])"
        }
    }

    public let assets: [Asset]

    public static func bundled() throws -> ConsoleAssets {
        let files = [("console.css", "text/css; charset=utf-8"), ("console.js", "text/javascript; charset=utf-8")]
        return ConsoleAssets(assets: try files.map { name, type in
            let base = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
            guard let url = Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "assets") else {
                throw ConsoleError.missingResource("assets/\(name)")
            }
            let bytes = Array(try Data(contentsOf: url))
            let fingerprint = SHA256.hash(data: bytes).prefix(6).map { String(format: "%02x", $0) }.joined()
            return Asset(name: name, contentType: type, bytes: bytes, fingerprint: fingerprint)
        })
    }

    /// The asset a request path's last component names (`console.<fingerprint>.css`), or nil.
    public func asset(file: String) -> Asset? { assets.first { $0.path.hasSuffix("/" + file) } }

    /// Paths by short name, for templates: `css`, `js`.
    public var links: [String: String] {
        Dictionary(uniqueKeysWithValues: assets.map { (($0.name as NSString).pathExtension, $0.path) })
    }

    /// The response for an asset: cached for a year (its name changes with its content).
    func response(_ a: Asset, headers base: HTTPFields) -> Response {
        var headers = base
        headers[.contentType] = a.contentType
        headers[.cacheControl] = "public, max-age=31536000, immutable"
        headers[.eTag] = "\"\(a.fingerprint)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: a.bytes)))
    }
}
