import AsyncHTTPClient
import FuelAgent
import FuelModel
import FuelService
import FuelTestSupport
import FuelWire
import Foundation
import NIOCore
import NIOSSL
import Testing

/// The daemon's own TLS termination with station client certificates (`http.tls.*`), against
/// certificates made here with the `openssl` command line: a station key works only with a
/// certificate naming its station, a client without one does not get through the handshake, and
/// the station agent uploads over it with a configured CA and its client certificate.
@Suite(.serialized) struct TLSTests {
    /// A CA, a server certificate for 127.0.0.1, and a client certificate per station.
    struct Certificates {
        let dir: String
        func path(_ name: String) -> String { dir + "/" + name }

        init(stations: [String]) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-tls-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/ca.key",
                              "-out", dir + "/ca.crt", "-subj", "/CN=Fuelwarden test CA", "-days", "2"])
            try issue("server", subject: "/CN=127.0.0.1", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost")
            for s in stations { try issue(s, subject: "/O=Fuelwarden stations/CN=\(s)", extensions: "extendedKeyUsage=clientAuth") }
        }

        func issue(_ name: String, subject: String, extensions: String) throws {
            try extensions.write(toFile: path(name + ".ext"), atomically: true, encoding: .utf8)
            try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path(name + ".key"),
                              "-out", path(name + ".csr"), "-subj", subject])
            try Self.openssl(["x509", "-req", "-in", path(name + ".csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"), "-CAcreateserial",
                              "-out", path(name + ".crt"), "-days", "2", "-extfile", path(name + ".ext")])
        }

        static func openssl(_ arguments: [String]) throws {
            guard try OpenSSLCLI.run(arguments).status == 0 else { throw AgentError("openssl \(arguments.prefix(2).joined(separator: " ")) failed") }
        }

        func client(as station: String?) throws -> HTTPClient {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(path("ca.crt"))
            if let station {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(path(station + ".crt")).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: path(station + ".key"), format: .pem))
            }
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        }
    }

    static func push(_ http: HTTPClient, port: Int, station: String, key: String, seq: Int) async throws -> (Int, String) {
        var r = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/stations/\(station)/records")
        r.method = .POST
        r.headers.add(name: "authorization", value: "Bearer \(key)")
        r.headers.add(name: "content-type", value: "application/x-ndjson")
        r.body = .bytes(ByteBuffer(string: #"{"seq":\#(seq),"kind":"price_change","grade":"92","unit_price":7.85,"effective_at":"2026-11-01T00:00:00+08:00"}"# + "\n"))
        let response = try await http.execute(r, timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test func aStationKeyNeedsACertificateNamingItsStation() async throws {
        let a = "LN-SY-0001", b = "LN-DL-0002"
        let certs = try Certificates(stations: [a, b])
        defer { try? FileManager.default.removeItem(atPath: certs.dir) }
        // A key that does not match its certificate stops start-up with the key's name.
        var mismatched = FuelwardenConfig()
        (mismatched.http.tlsCertificate, mismatched.http.tlsKey) = (certs.path("server.crt"), certs.path(a + ".key"))
        #expect { _ = try ServerTLS.load(mismatched.http) } throws: { "\($0)".contains("http.tls.key") }

        try await TestDaemon.with(tweak: { c in
            c.http.tlsCertificate = certs.path("server.crt")
            c.http.tlsKey = certs.path("server.key")
            c.http.tlsClientCA = certs.path("ca.crt")
        }) { d in
            let port = try #require(URLComponents(string: d.client.baseURL)?.port)
            let key = try await d.token(.station, station: a)
            let asA = try certs.client(as: a), asB = try certs.client(as: b), anonymous = try certs.client(as: nil)
            do {
                try await Self.checks(d, certs: certs, port: port, key: key, a: a, b: b, asA: asA, asB: asB, anonymous: anonymous)
            } catch {
                for c in [asA, asB, anonymous] { try? await c.shutdown() }
                throw error
            }
            for c in [asA, asB, anonymous] { try await c.shutdown() }
        }
    }

    static func checks(_ d: TestDaemon, certs: Certificates, port: Int, key: String, a: String, b: String,
                       asA: HTTPClient, asB: HTTPClient, anonymous: HTTPClient) async throws {
        do {
            let (ok, _) = try await Self.push(asA, port: port, station: a, key: key, seq: 1)
            #expect(ok == 200)
            let (refused, why) = try await Self.push(asB, port: port, station: a, key: key, seq: 2)
            #expect(refused == 403 && why.contains("names \(b), not station \(a)"))
            await #expect(throws: (any Error).self) { _ = try await Self.push(anonymous, port: port, station: a, key: key, seq: 3) }
            // Plain HTTP on the TLS port gets nowhere either.
            await #expect(throws: (any Error).self) {
                _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(5))
            }

            // The station agent over it: the province's CA and the station's certificate.
            let place = try StationAgentTests.Place()
            defer { try? FileManager.default.removeItem(atPath: place.root) }
            try key.write(toFile: place.keyFile, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: place.keyFile)
            var config = StationAgentTests.config(place, cloud: "https://127.0.0.1:\(port)", consolePort: nil)
            config.allowPlainHTTP = false
            config.caFile = certs.path("ca.crt")
            config.clientCertificate = certs.path(a + ".crt")
            config.clientKey = certs.path(a + ".key")
            try place.drop("prices.ndjson", #"{"kind":"price_change","grade":"95","unit_price":8.35,"effective_at":"2026-11-01T00:00:00+08:00"}"# + "\n")
            try await StationAgentTests.withAgent(config) { _, spool in
                try await StationAgentTests.waitFor("the file uploaded over TLS") { try spool.snapshot().acknowledgedSeq == 2 }
            }
            #expect(try await FeedTests.count(d.db, "SELECT count(*) FROM ledger WHERE station = \(a) AND source = 'push'") == 2)
        }
    }
}
