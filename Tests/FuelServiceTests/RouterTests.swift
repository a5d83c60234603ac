import FuelService
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The router's own answers, through HummingbirdTesting without a socket or a database: none of
/// these requests reaches a store.
@Suite struct RouterTests {
    static func app() throws -> some ApplicationProtocol {
        var config = FuelwardenConfig()
        // Never connected: the requests below are answered before any database work.
        config.database.url = "postgres://nobody@127.0.0.1:1/none"
        let components = try FuelwardenComponents(config: config, logger: Logger(label: "test"))
        return Application(router: components.router())
    }

    @Test func aPathServedUnderOtherMethodsAnswers405WithAllow() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .trace) { res in
                #expect(res.status == .methodNotAllowed)
                #expect(res.headers[.allow] == "GET")
                #expect(String(buffer: res.body).contains("use GET"))
            }
            try await client.execute(uri: "/v1/alerts/7/ack", method: .get) { res in
                #expect(res.status == .methodNotAllowed)
                #expect(res.headers[.allow] == "POST")
            }
            try await client.execute(uri: "/v1/stations/S1/licences/business", method: .post) { res in
                #expect(res.status == .methodNotAllowed)
                #expect(res.headers[.allow] == "DELETE, PUT")
            }
        }
    }

    @Test func anUnknownPathIsAJSONNotFound() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/v2/nothing", method: .get) { res in
                #expect(res.status == .notFound)
                #expect(String(buffer: res.body).hasPrefix(#"{"error":"no such resource"#))
            }
        }
    }

    /// PostgreSQL text cannot hold NUL: such input is refused before any query (it used to answer 503).
    @Test func aNULIsRefusedBeforeTheDatabase() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/v1/alerts?city=a%00b", method: .get) { res in
                #expect(res.status == .badRequest)
                #expect(String(buffer: res.body).contains("city: contains a NUL character"))
            }
            try await client.execute(uri: "/v1/batches/x%00y/trace", method: .get) { res in
                #expect(res.status == .notFound)
            }
        }
    }
}
