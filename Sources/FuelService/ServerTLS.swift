import NIOSSL
import X509

/// TLS termination of the daemon (`http.tls.*`): its certificate and key, and optionally the CA of
/// the stations' client certificates. With a client CA every client must present a certificate it
/// signed (the handshake fails otherwise), and ``AuthMiddleware`` accepts a station key only over
/// a connection whose certificate names that station — a stolen key alone is not enough.
public struct ServerTLS: Sendable {
    public let configuration: TLSConfiguration
    public let verifiesClients: Bool

    /// The TLS configuration `settings` describe; nil for plain HTTP. Errors name the key and file.
    public static func load(_ settings: HTTPSettings) throws -> ServerTLS? {
        guard settings.tlsCertificate != nil || settings.tlsKey != nil || settings.tlsClientCA != nil else { return nil }
        guard let certificatePath = settings.tlsCertificate, let keyPath = settings.tlsKey else {
            throw ConfigurationError(key: settings.tlsCertificate == nil ? "http.tls.certificate" : "http.tls.key",
                                     message: "http.tls.certificate and http.tls.key go together (http.tls.client_ca needs both)")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw ConfigurationError(key: "http.tls.certificate", message: "\(certificatePath): not a readable PEM certificate chain (\(error))")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            // The message names the file, never its content.
            throw ConfigurationError(key: "http.tls.key", message: "\(keyPath): not a readable PEM private key")
        }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        c.minimumTLSVersion = .tlsv12
        if let ca = settings.tlsClientCA {
            do {
                c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw ConfigurationError(key: "http.tls.client_ca", message: "\(ca): not a readable PEM certificate (\(error))")
            }
            // Stations are not host names: the chain is verified, not a name against a host.
            c.certificateVerification = .noHostnameVerification
        }
        // Built once here so that a key that does not match its certificate stops start-up with a
        // message, instead of failing every handshake later.
        do {
            _ = try NIOSSLContext(configuration: c)
        } catch {
            throw ConfigurationError(key: "http.tls.key", message: "\(keyPath) and \(certificatePath) do not make a TLS context: \(error)")
        }
        return ServerTLS(configuration: c, verifiesClients: settings.tlsClientCA != nil)
    }

    /// The names a client certificate gives: its subject's common names and its DNS names.
    public static func names(of certificate: NIOSSLCertificate) -> [String] {
        guard let der = try? certificate.toDERBytes(), let c = try? Certificate(derEncoded: der) else { return [] }
        var out: [String] = []
        for rdn in c.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                out.append(String(describing: attribute.value))
            }
        }
        if let san = try? c.extensions.subjectAlternativeNames {
            for name in san { if case .dnsName(let d) = name { out.append(d) } }
        }
        return out
    }
}
