import COpenSSL

/// A libcrypto call failed: which one, and OpenSSL's own reason from its error queue.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var reason: String

    public var description: String { "\(call) failed: \(reason)" }

    /// The error for `call`, draining OpenSSL's thread-local error queue.
    static func last(_ call: String) -> OpenSSLError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return OpenSSLError(call: call, reason: reasons.isEmpty ? "no reason given" : reasons.joined(separator: "; "))
    }
}
