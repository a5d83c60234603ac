import Crypto
import FuelDetect
import FuelModel
import FuelStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The regulator console under `/console/`: sign-in with a regulator token (a session cookie
/// follows), the alerts board with live updates, an alert with its evidence, records and history,
/// acknowledge and resolve. Server-rendered (Mustache); the pages work without JavaScript, which
/// only adds live rows. Every form that changes something carries the session's CSRF token; the
/// session cookie is HttpOnly, SameSite=Strict and scoped to `/console`.
public struct ConsoleController: Sendable {
    /// What the console needs to know of the registry, given by the daemon.
    public struct Directory: Sendable {
        /// Cities, in the registry's order.
        public var cities: @Sendable () -> [City]
        /// A station by id, and all of them.
        public var station: @Sendable (String) -> Station?
        public var stations: @Sendable () -> [Station]
        /// The annual-inspection pre-check of a station for a year, recorded when an actor is named
        /// (the daemon's `InspectionRunner`, the same path as the API's).
        public var inspect: @Sendable (_ station: Station, _ year: Int, _ recordAs: String?) async throws -> (InspectionReport, RecordedInspection?)

        /// A station's whole history export as CSV (the daemon's `HistoryController`, the same stream as the API's).
        public var historyCSV: @Sendable (_ station: String) async throws -> Response
        /// The inspection gaps of a city (or all), as the API lists them.
        public var inspectionGaps: @Sendable (_ city: String?) async throws -> [InspectionGap]

        public init(cities: @escaping @Sendable () -> [City], station: @escaping @Sendable (String) -> Station?,
                    stations: @escaping @Sendable () -> [Station],
                    inspect: @escaping @Sendable (Station, Int, String?) async throws -> (InspectionReport, RecordedInspection?),
                    historyCSV: @escaping @Sendable (String) async throws -> Response,
                    inspectionGaps: @escaping @Sendable (String?) async throws -> [InspectionGap]) {
            self.cities = cities
            self.station = station
            self.stations = stations
            self.inspect = inspect
            self.historyCSV = historyCSV
            self.inspectionGaps = inspectionGaps
        }

        func stationName(_ id: String) -> String? { station(id)?.name }
        func cityName(_ code: String) -> String? { cities().first { $0.code == code }?.name }
    }

    /// Session lifetimes and the cookie's `Secure` flag.
    public struct Settings: Sendable {
        public var idle: Duration
        public var absolute: Duration
        public var secureCookie: Bool
        /// An HJ 212 device not heard from for this long is shown offline (`feeds.hj212.offline_after_seconds`).
        public var deviceOffline: Duration

        public init(idle: Duration, absolute: Duration, secureCookie: Bool, deviceOffline: Duration = .seconds(600)) {
            self.idle = idle
            self.absolute = absolute
            self.secureCookie = secureCookie
            self.deviceOffline = deviceOffline
        }
    }

    static let cookie = "fw_console"
    static let pageSize = 50

    let database: FuelDatabase
    let thresholds: DetectionThresholds
    let sessions: ConsoleSessionStore
    let alerts: AlertStore
    let ledger: LedgerStore
    let directory: Directory
    let settings: Settings
    let stream: AlertEventStream
    let texts: ConsoleTexts
    let templates: ConsoleTemplates
    let assets: ConsoleAssets
    let isStopping: @Sendable () -> Bool
    let logger: Logger

    public init(database: FuelDatabase, directory: Directory, settings: Settings, thresholds: DetectionThresholds, alertFeed: AlertBroadcaster? = nil,
                encodeAlert: @escaping @Sendable (AlertRecord) throws -> String, isStopping: @escaping @Sendable () -> Bool,
                logger: Logger) throws {
        self.database = database
        self.thresholds = thresholds
        sessions = ConsoleSessionStore(database: database)
        alerts = AlertStore(database: database)
        ledger = LedgerStore(database: database)
        self.directory = directory
        self.settings = settings
        stream = AlertEventStream(alerts: alerts, broadcaster: alertFeed, encode: encodeAlert)
        texts = try ConsoleTexts.bundled()
        templates = try ConsoleTemplates.bundled()
        assets = try ConsoleAssets.bundled()
        self.isStopping = isStopping
        self.logger = logger
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("console") { _, _ in ConsoleHeaders.redirect("/console/alerts") }
        let g = router.group("console")
        g.get("assets/{file}") { _, context in
            guard let file = context.parameters.get("file"), let a = assets.asset(file: file) else {
                return ConsoleHeaders.html("not found", status: .notFound)
            }
            return assets.response(a, headers: ConsoleHeaders.base)
        }
        g.get("sign-in") { request, _ in signInPage(request) }
        g.post("sign-in") { request, _ in await guarded(request) { try await signIn(request) } }
        g.post("sign-out") { request, _ in await guarded(request) { try await signOut(request) } }
        g.post("language") { request, _ in await guarded(request) { try await language(request) } }
        g.get("alerts") { request, _ in await guarded(request) { try await board(request) } }
        g.get("alerts/stream") { request, _ in await guarded(request) { try await liveStream(request) } }
        g.get("alerts/{id}") { request, context in
            await guarded(request) { try await alertPage(request, id: context.parameters.get("id")) }
        }
        g.get("cities") { request, _ in await guarded(request) { try await citiesPage(request) } }
        g.get("reports/quarterly.csv") { request, _ in await guarded(request) { try await quarterlyCSV(request) } }
        g.get("inspection-gaps") { request, _ in await guarded(request) { try await gapsPage(request) } }
        g.get("batches") { request, _ in await guarded(request) { try await batchPage(request) } }
        g.get("stations/{id}/history.csv") { request, context in
            await guarded(request) { try await historyDownload(request, id: context.parameters.get("id")) }
        }
        g.get("stations/{id}/inspection") { request, context in
            await guarded(request) { try await inspectionPage(request, id: context.parameters.get("id")) }
        }
        g.post("stations/{id}/inspection") { request, context in
            await guarded(request) { try await recordInspection(request, id: context.parameters.get("id")) }
        }
        g.get("stations/{id}") { request, context in
            await guarded(request) { try await stationPage(request, id: context.parameters.get("id")) }
        }
        g.post("alerts/{id}/ack") { request, context in
            await guarded(request) { try await transition(request, id: context.parameters.get("id"), .acknowledge) }
        }
        g.post("alerts/{id}/resolve") { request, context in
            await guarded(request) { try await transition(request, id: context.parameters.get("id"), .resolve) }
        }
    }

    // MARK: Sessions

    /// A signed-in request: the session and the id its cookie carries.
    struct SignedIn {
        var id: String
        var session: ConsoleSession
        var lang: String { session.lang }
    }

    /// Why a page could not be shown: rendered as an error page in the reader's language.
    struct PageError: Error {
        var status: HTTPResponse.Status
        var key: String
        var detail: String?
    }

    /// The console's answer when signing in is needed: back to the sign-in page, then here.
    struct NeedsSignIn: Error {}

    func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let id = request.cookies[Self.cookie]?.value, !id.isEmpty else { return nil }
        guard let s = try await sessions.session(id: id, idle: settings.idle) else { return nil }
        return SignedIn(id: id, session: s)
    }

    func requireSignedIn(_ request: Request) async throws -> SignedIn {
        guard let s = try await signedIn(request) else { throw NeedsSignIn() }
        return s
    }

    /// The form's CSRF token must be the session's (compared as digests: equal length, constant time).
    func checkCSRF(_ token: String?, _ s: SignedIn) throws {
        guard let token, SHA256.hash(data: Array(token.utf8)) == SHA256.hash(data: Array(s.session.csrf.utf8)) else {
            throw PageError(status: .forbidden, key: "csrf_refused")
        }
    }

    func cookie(_ value: String, maxAge: Int, request: Request) -> HTTPFields {
        let secure = settings.secureCookie || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        var h = HTTPFields()
        h[.setCookie] = "\(Self.cookie)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
        return h
    }

    /// Runs a page's handler, turning what went wrong into a page (or a redirect to sign in).
    func guarded(_ request: Request, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch is NeedsSignIn {
            let path = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            let next = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            return ConsoleHeaders.redirect("/console/sign-in?next=\(next)")
        } catch let e as PageError {
            return errorPage(request, e)
        } catch let e as StoreError {
            switch e {
            case .notFound(let why): return errorPage(request, PageError(status: .notFound, key: "not_found", detail: why))
            case .conflict(let why): return errorPage(request, PageError(status: .conflict, key: "conflict", detail: why))
            case .invalid(let why): return errorPage(request, PageError(status: .badRequest, key: "error_title", detail: why))
            default: return errorPage(request, PageError(status: .serviceUnavailable, key: "unavailable"))
            }
        } catch {
            logger.error("console page failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return errorPage(request, PageError(status: .serviceUnavailable, key: "unavailable"))
        }
    }

    // MARK: Pages

    /// What every page's layout needs.
    func layout(title: String, lang: String, signedIn s: SignedIn?, path: String) -> [String: Any] {
        let other = ConsoleTexts.languages.first { $0 != lang } ?? lang
        var c: [String: Any] = [
            "t": texts.catalogue(lang), "htmlLang": lang == "zh" ? "zh-CN" : lang, "title": title, "assets": assets.links,
            "otherLang": other, "lang": lang, "session": false,
        ]
        if let s {
            c["session"] = [
                "name": s.session.principal.name, "roleText": texts.text("role_\(s.session.principal.role.rawValue)", lang),
                "csrf": s.session.csrf, "otherLang": other, "path": path,
            ] as [String: Any]
            c["csrf"] = s.session.csrf
        }
        return c
    }

    func errorPage(_ request: Request, _ e: PageError) -> Response {
        let lang = ConsoleTexts.language(acceptLanguage: request.headers[.acceptLanguage])
        var c = layout(title: texts.text("error_title", lang), lang: lang, signedIn: nil, path: "/console/alerts")
        c["message"] = texts.text(e.key, lang) + (e.detail.map { " — \($0)" } ?? "")
        c["back"] = "/console/alerts"
        return ConsoleHeaders.html(templates.render("error", c), status: e.status)
    }

    func signInPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let q = request.uri.queryParameters
        let lang = q.get("lang").flatMap { ConsoleTexts.languages.contains($0) ? $0 : nil }
            ?? ConsoleTexts.language(acceptLanguage: request.headers[.acceptLanguage])
        var c = layout(title: texts.text("signin_title", lang), lang: lang, signedIn: nil, path: "/console/sign-in")
        c["next"] = ConsolePath.safe(q.get("next"))
        if let error { c["error"] = texts.text(error, lang) }
        return ConsoleHeaders.html(templates.render("signin", c), status: status)
    }

    struct SignInForm: Decodable {
        var token: String?
        var next: String?
        var lang: String?
    }

    func signIn(_ request: Request) async throws -> Response {
        let form = try await ConsoleForm.decode(SignInForm.self, request)
        let lang = form.lang.flatMap { ConsoleTexts.languages.contains($0) ? $0 : nil } ?? ConsoleTexts.language(acceptLanguage: request.headers[.acceptLanguage])
        let token = (form.token ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.utf8.count <= 256 else { return signInPage(request, error: "signin_unknown", status: .unauthorized) }
        do {
            let (id, _) = try await sessions.signIn(secret: token, lang: lang, absolute: settings.absolute)
            return ConsoleHeaders.redirect(ConsolePath.safe(form.next),
                                           extra: cookie(id, maxAge: Int(settings.absolute.components.seconds), request: request))
        } catch ConsoleSessionStore.SignInError.unknownToken {
            return signInPage(request, error: "signin_unknown", status: .unauthorized)
        } catch ConsoleSessionStore.SignInError.stationKey {
            return signInPage(request, error: "signin_station", status: .forbidden)
        }
    }

    struct CSRFForm: Decodable {
        var csrf: String?
        var lang: String?
        var back: String?
        var note: String?
    }

    func signOut(_ request: Request) async throws -> Response {
        let s = try await requireSignedIn(request)
        try checkCSRF(try await ConsoleForm.decode(CSRFForm.self, request).csrf, s)
        try await sessions.signOut(id: s.id, actor: s.session.principal.actor)
        return ConsoleHeaders.redirect("/console/sign-in?lang=\(s.lang)", extra: cookie("", maxAge: 0, request: request))
    }

    func language(_ request: Request) async throws -> Response {
        let s = try await requireSignedIn(request)
        let form = try await ConsoleForm.decode(CSRFForm.self, request)
        try checkCSRF(form.csrf, s)
        guard let lang = form.lang, ConsoleTexts.languages.contains(lang) else { throw PageError(status: .badRequest, key: "error_title") }
        try await sessions.setLanguage(id: s.id, lang: lang)
        return ConsoleHeaders.redirect(ConsolePath.safe(form.back))
    }

    func liveStream(_ request: Request) async throws -> Response {
        guard try await signedIn(request) != nil else {
            var h = ConsoleHeaders.base
            h[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .unauthorized, headers: h, body: .init(byteBuffer: .init(string: "sign in first")))
        }
        let filter = try BoardFilter(request).streamFilter
        let after = try await stream.start(lastEventID: request.headers[HTTPField.Name("Last-Event-ID")!])
        var response = stream.response(after: after, filter: filter, isStopping: isStopping)
        for f in ConsoleHeaders.base { response.headers.append(f) }
        return response
    }
}
