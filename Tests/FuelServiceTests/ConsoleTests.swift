import AsyncHTTPClient
@testable import FuelConsole
import FuelDetect
import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// A browser as far as HTTP goes: one session cookie, forms, no redirects followed.
struct ConsoleAgent {
    let base: String
    var cookie: String?
    /// A client that shows redirects instead of following them (lives as long as the tests).
    static let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var location: String? { headers.first(name: "location") }
    }

    func get(_ path: String, headers extra: [(String, String)] = []) async throws -> Reply {
        try await send(.GET, path, form: nil, headers: extra)
    }

    func post(_ path: String, _ form: [(String, String)]) async throws -> Reply {
        try await send(.POST, path, form: form, headers: [])
    }

    func send(_ method: HTTPMethod, _ path: String, form: [(String, String)]?, headers extra: [(String, String)]) async throws -> Reply {
        var r = HTTPClientRequest(url: base + path)
        r.method = method
        if let cookie { r.headers.add(name: "cookie", value: "fw_console=\(cookie)") }
        for (k, v) in extra { r.headers.add(name: k, value: v) }
        if let form {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-_.~")
            let text = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
            r.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
            r.body = .bytes(ByteBuffer(string: text))
        }
        let response = try await Self.http.execute(r, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 4 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    /// Signs in with `token`; the agent keeps the session cookie.
    mutating func signIn(_ token: String, lang: String = "zh") async throws -> Reply {
        let r = try await post("/console/sign-in", [("token", token), ("next", "/console/alerts"), ("lang", lang)])
        if let set = r.headers.first(name: "set-cookie"), let value = set.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last {
            cookie = String(value)
        }
        return r
    }

    /// The CSRF token of the page's forms.
    static func csrf(_ html: String) -> String? {
        guard let r = html.range(of: #"name="csrf" value=""#) else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }
}

/// The console over HTTP against a real daemon and PostgreSQL: sign-in and its cookie, roles, CSRF,
/// escaping, languages, sign-out; the alert list's keyset pages and the live alert stream.
@Suite(.serialized) struct ConsoleTests {
    @Test func catalogueHasEveryKeyInEveryLanguage() throws {
        let texts = try ConsoleTexts.bundled()
        let zh = texts.catalogue("zh"), en = texts.catalogue("en")
        #expect(Set(zh.keys) == Set(en.keys), "only in one: \(Set(zh.keys).symmetricDifference(Set(en.keys)).sorted())")
        var needed = AlertRule.allCases.map { "rule_\($0.rawValue)" } + Severity.allCases.map { "severity_\($0.rawValue)" }
        needed += AlertFilter.Status.allCases.map { "status_\($0.rawValue)" } + AccessRole.allCases.filter { $0 != .station }.map { "role_\($0.rawValue)" }
        needed += RecordKind.allCases.map { "kind_\($0.rawValue)" } + StationStatus.allCases.map { "station_status_\($0.rawValue)" }
        needed += GaugeLimitation.allCases.map { "limitation_\($0.rawValue)" } + ["method_quiet_segments", "method_inventory_variance", "method_meter_step", "gauge_meter_prior"]
        needed += Contact.Role.allCases.map { "contact_\($0.rawValue)" } + ["pass", "needs_attention", "fail"].map { "verdict_\($0)" }
        needed += InspectionGap.Kind.allCases.map { "gap_\($0.rawValue)" }
        needed += (InspectionPrecheck.reasonKeys + InspectionGapFinder.detailKeys).map { "reason_\($0)" }
        #expect(needed.filter { zh[$0] == nil || en[$0] == nil }.isEmpty, "no name for \(needed.filter { zh[$0] == nil || en[$0] == nil })")
        #expect(zh.values.allSatisfy { !$0.isEmpty } && en.values.allSatisfy { !$0.isEmpty })
        #expect(ConsoleTexts.language(acceptLanguage: "en-GB,en;q=0.9") == "en")
        #expect(ConsoleTexts.language(acceptLanguage: "fr, zh-CN;q=0.5, en;q=0.4") == "zh")
        #expect(ConsoleTexts.language(acceptLanguage: nil) == "zh")
    }

    /// The gauge chart's geometry on an exact case: three columns of a 720-column chart, volumes
    /// 1,000–2,000 L over a 170 px plot (10 px top margin).
    @Test func chartGeometryOnAnExactCase() throws {
        let columns = [TankSeriesColumn(column: 1, min: 1500, max: 2000, last: 2000, readings: 3),
                       TankSeriesColumn(column: 360, min: 1000, max: 1000, last: 1000, readings: 1),
                       TankSeriesColumn(column: 720, min: 1200, max: 1400, last: 1300, readings: 2)]
        let chart = SVGChart(columns: columns, count: 720, deliveryShares: [0.5, 1.5])
        #expect(chart.low == 1000 && chart.high == 2000 && chart.points == 3)
        #expect(chart.line == "M0.5 10.0 L359.5 180.0 L719.5 129.0")
        #expect(chart.ranges == "M0.5 10.0V95.0 M719.5 112.0V146.0")
        #expect(chart.deliveries == [360])  // the one outside the window is not drawn
        #expect(SVGChart(columns: [], count: 720, deliveryShares: []).line.isEmpty)
    }

    @Test func figureChartDrawsDotsWhiskersAndSteppedBands() {
        let d1 = CivilDate(year: 2026, month: 11, day: 1), d2 = CivilDate(year: 2026, month: 11, day: 2)
        let at = Timestamp(rfc3339: "2026-11-01T12:00:00Z")!
        let figures = [
            DailyFigure(kind: .reconciliationVariance, subject: "T1", day: d2, at: at, value: -30, low: -40, high: -20, bandLow: -20, bandHigh: 20),
            DailyFigure(kind: .reconciliationVariance, subject: "T1", day: d1, at: at, value: 10, bandLow: -10, bandHigh: 10),
            DailyFigure(kind: .reconciliationVariance, subject: "T1", day: CivilDate(year: 2026, month: 10, day: 1), at: at, value: 999),
        ]
        // Two days in two 360-px slots; the scale spans −40…20 plus 8 % each side (−44.8…24.8).
        let chart = FigureChart(figures: figures, through: d2, days: 2, unit: "L")
        #expect(chart.low == -44.8 && abs(chart.high - 24.8) < 1e-9)
        // The day outside the window is not drawn; the day within its band is a stroke, the one outside a dot with its tooltip.
        #expect(chart.count == 2 && chart.outsideCount == 1 && chart.daysPerSlot == 1)
        #expect(chart.dots.map(\.x) == [540] && chart.dots.map(\.label) == ["2026-11-02 -30.000 L"])
        #expect(chart.inside.hasPrefix("M180.0 ") && chart.inside.hasSuffix("h0") && chart.inside.components(separatedBy: "h0").count == 2)
        #expect(chart.whiskers.hasPrefix("M540.0 ") && !chart.whiskers.contains("M180.0"))  // only the day with an interval
        #expect(chart.bandHigh.hasPrefix("M0.0 ") && chart.bandHigh.contains("H360.0 L360.0 ") && chart.bandHigh.hasSuffix("H720.0"))
        #expect(FigureChart(figures: [], through: d2, days: 30, unit: "%").dots.isEmpty)
        // A year draws a slot per six days, each the worst of its days: a week with one bad day shows it.
        let year = (0..<365).map { i in
            DailyFigure(kind: .meterError, subject: "N1", day: CivilDate(daysSinceEpoch: d2.daysSinceEpoch - Int64(i)), at: at,
                        value: i == 100 ? 0.9 : 0.1, bandLow: -0.3, bandHigh: 0.3)
        }
        let long = FigureChart(figures: year, through: d2, days: 365, unit: "%")
        #expect(long.daysPerSlot == 6 && long.count == 365 && long.outsideCount == 1)
        #expect(long.dots.count == 1 && long.inside.components(separatedBy: "h0").count - 1 == 60)  // 61 slots, one outside
        #expect([ChartNumber.text(-0.04), ChartNumber.text(2.25, digits: 2), ChartNumber.text(-1.5, digits: 0), ChartNumber.text(0.05, digits: 3)]
            == ["0.0", "2.25", "-2", "0.050"])
    }

    @Test func signInRolesCSRFAndEscaping() async throws {
        try await TestDaemon.with { d in
            let base = d.client.baseURL
            let viewerToken = try await d.token(.viewer), inspectorToken = try await d.token(.inspector)
            let station = d.registry.stations[0]
            let stationKey = try await d.token(.station, station: station.id)

            // Pages need a session: to the sign-in page, and back here after.
            var anonymous = ConsoleAgent(base: base)
            let first = try await anonymous.get("/console/alerts?status=all")
            #expect(first.status == 303 && first.location == "/console/sign-in?next=%2Fconsole%2Falerts%3Fstatus%3Dall")
            #expect(first.headers.first(name: "content-security-policy")?.contains("script-src 'self'") == true)
            #expect(first.headers.first(name: "x-frame-options") == "DENY" && first.headers.first(name: "referrer-policy") == "no-referrer")
            // A station key and a wrong token cannot sign in; nothing is set.
            let refused = try await anonymous.signIn(stationKey)
            #expect(refused.status == 403 && anonymous.cookie == nil && refused.body.contains("加油站密钥不能登录控制台"))
            #expect(try await anonymous.signIn("fw_" + String(repeating: "0", count: 64)).status == 401)

            // A station named like markup and an alert note with markup are shown as text.
            let evil = "<img src=x onerror=alert(1)>"
            _ = try await RegistryStore(database: d.db).importRegistry(
                { var r = d.registry; r.stations[0].name = evil; return r }(), sourceDigest: "evil", actor: "test")
            try await d.components.registry.reload()
            let lines = [#"{"seq":1,"kind":"price_change","effective_at":"2026-11-01T00:00:00Z","grade":"92","unit_price":99.0}"#]
            _ = try await d.client.push(station: station.id, key: stationKey, lines: lines)
            try await d.detectionCaughtUp()

            var viewer = ConsoleAgent(base: base)
            let signedIn = try await viewer.signIn(viewerToken)
            #expect(signedIn.status == 303 && signedIn.location == "/console/alerts")
            let setCookie = signedIn.headers.first(name: "set-cookie") ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/console"))
            #expect(!setCookie.contains(viewerToken))
            let board = try await viewer.get("/console/alerts?status=all")
            #expect(board.status == 200 && board.body.contains("<html lang=\"zh-CN\">"))
            #expect(!board.body.contains(evil) && board.body.contains("&lt;img src=x onerror=alert(1)&gt;"), "\(board.body)")
            let alertID = try #require(board.body.range(of: #"data-alert=""#).map { String(board.body[$0.upperBound...].prefix { $0 != "\"" }) })
            let viewerPage = try await viewer.get("/console/alerts/\(alertID)")
            #expect(viewerPage.status == 200 && !viewerPage.body.contains("id=\"ack\"") && !viewerPage.body.contains("id=\"resolve\""))
            // A viewer's forged acknowledgement is refused even with its own CSRF token.
            let viewerCSRF = try #require(ConsoleAgent.csrf(viewerPage.body))
            #expect(try await viewer.post("/console/alerts/\(alertID)/ack", [("csrf", viewerCSRF), ("note", "x")]).status == 403)

            var inspector = ConsoleAgent(base: base)
            _ = try await inspector.signIn(inspectorToken)
            let page = try await inspector.get("/console/alerts/\(alertID)")
            #expect(page.body.contains("id=\"ack\""))
            let csrf = try #require(ConsoleAgent.csrf(page.body))
            // Without the CSRF token, or with another session's, nothing changes.
            #expect(try await inspector.post("/console/alerts/\(alertID)/ack", [("note", "forged")]).status == 403)
            #expect(try await inspector.post("/console/alerts/\(alertID)/ack", [("csrf", viewerCSRF), ("note", "forged")]).status == 403)
            #expect(try await inspector.post("/console/alerts/\(alertID)/ack", [("csrf", csrf), ("note", "  ")]).status == 400)
            let acked = try await inspector.post("/console/alerts/\(alertID)/ack", [("csrf", csrf), ("note", "<b>on site</b>")])
            #expect(acked.status == 303 && acked.location == "/console/alerts/\(alertID)")
            let after = try await inspector.get("/console/alerts/\(alertID)")
            #expect(after.body.contains("id=\"alert-status\">已确认") && after.body.contains("&lt;b&gt;on site&lt;/b&gt;"))
            #expect(try await AlertStore(database: d.db).get(id: Int64(alertID)!)?.status == .acknowledged)

            // English by the switch, kept in the session.
            let switched = try await inspector.post("/console/language", [("csrf", csrf), ("lang", "en"), ("back", "/console/alerts/\(alertID)")])
            #expect(switched.status == 303 && switched.location == "/console/alerts/\(alertID)")
            let english = try await inspector.get("/console/alerts")
            #expect(english.body.contains("<html lang=\"en\">") && english.body.contains("Acknowledged"))
            // A `back` outside the console is not followed.
            #expect(try await inspector.post("/console/language", [("csrf", csrf), ("lang", "zh"), ("back", "//evil.example/")]).location == "/console/alerts")

            // Sign-out ends the session wherever its cookie is kept.
            let copy = inspector
            let out = try await inspector.post("/console/sign-out", [("csrf", csrf)])
            #expect(out.status == 303 && out.headers.first(name: "set-cookie")?.contains("Max-Age=0") == true)
            #expect(try await copy.get("/console/alerts").status == 303)
            // Assets are the daemon's own, fingerprinted and cached.
            let css = try #require(board.body.range(of: #"href="/console/assets/"#).map { "/console/assets/" + board.body[$0.upperBound...].prefix { $0 != "\"" } })
            let asset = try await anonymous.get(css)
            #expect(asset.status == 200 && asset.headers.first(name: "cache-control")?.contains("immutable") == true && asset.body.contains(":root"))
        }
    }

    /// The station page: registry facts, chain head, and per tank a chart of its readings with the
    /// delivery marked, drawn by the daemon as SVG.
    @Test func stationPageDrawsItsTanks() async throws {
        try await TestDaemon.with { d in
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            var lines: [String] = []
            let t0 = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!
            for i in 0..<48 {
                let at = t0.adding(seconds: Double(i) * 900).rfc3339
                let v = 15_000 - Double(i) * 50 + (i >= 24 ? 8_000 : 0)
                lines.append(#"{"seq":\#(i + 1),"kind":"tank_reading","tank":"T1","at":"\#(at)","volume_l":\#(v),"tc_volume_l":\#(v - 40),"temperature_c":14}"#)
            }
            let delivered = t0.adding(seconds: 23 * 900 + 60)
            lines.append(#"{"seq":49,"kind":"delivery","tank":"T1","supplier":"SUP-001","batch":"B1","bill_no":"BL-1","grade":"92","declared_volume_l":8000,"started_at":"\#(delivered.rfc3339)","ended_at":"\#(delivered.adding(seconds: 600).rfc3339)"}"#)
            _ = try await d.client.push(station: station.id, key: key, lines: lines)
            try await d.detectionCaughtUp()

            var agent = ConsoleAgent(base: d.client.baseURL)
            _ = try await agent.signIn(try await d.token(.viewer))
            let page = try await agent.get("/console/stations/\(station.id)?days=1")
            #expect(page.status == 200)
            let tank = try #require(page.body.range(of: #"id="tank-T1""#).map { String(page.body[$0.lowerBound...].prefix(4000)) })
            let path = try #require(tank.range(of: #"class="series" d=""#).map { String(tank[$0.upperBound...].prefix { $0 != "\"" }) })
            #expect(path.split(separator: "L").count >= 40, "\(path)")  // 48 readings over a day in 720 columns
            #expect(tank.contains(#"class="delivery""#) && tank.contains("48 个数据列") && tank.contains("1 次卸油"))
            #expect(page.body.contains("id=\"chain\"") && page.body.contains("id=\"licences\""))
            #expect(try await agent.get("/console/stations/NOPE").status == 404)
            // The province by city for the quarter of the data, and its CSV.
            let cities = try await agent.get("/console/cities?year=2026&quarter=4")
            #expect(cities.status == 200 && cities.body.contains("2026Q4"))
            for city in d.registry.cities { #expect(cities.body.contains("data-city=\"\(city.code)\""), "\(city.code)") }
            let csv = try await agent.get("/console/reports/quarterly.csv?year=2026&quarter=4")
            #expect(csv.status == 200 && csv.headers.first(name: "content-type")?.hasPrefix("text/csv") == true)
            #expect(csv.body.hasPrefix("\u{FEFF}quarter,city,name,") && csv.body.components(separatedBy: "\r\n").count == d.registry.cities.count + 2)
            #expect(try await agent.get("/console/cities?year=2199&quarter=1").status == 422)
            // The inspection pre-check: every rule with its outcome; a viewer cannot record it.
            let inspection = try await agent.get("/console/stations/\(station.id)/inspection?year=2026")
            #expect(inspection.status == 200 && inspection.body.contains("id=\"verdict\"") && inspection.body.contains("数据链完整性"))
            // Reasons in the reader's language, every placeholder filled: the 49 records pushed recompute.
            #expect(inspection.body.contains("49 条记录重算与链头一致") && inspection.body.contains("有效期至"), "\(inspection.body)")
            #expect(!inspection.body.contains("{"), "an unfilled placeholder")
            #expect(!inspection.body.contains("id=\"record-inspection\""))
            var inspector = ConsoleAgent(base: d.client.baseURL)
            _ = try await inspector.signIn(try await d.token(.inspector))
            let form = try await inspector.get("/console/stations/\(station.id)/inspection?year=2026")
            let recorded = try await inspector.post("/console/stations/\(station.id)/inspection", [("csrf", ConsoleAgent.csrf(form.body) ?? ""), ("year", "2026")])
            #expect(recorded.status == 200 && recorded.body.contains("id=\"recorded\""))
            #expect(try await inspector.post("/console/stations/\(station.id)/inspection", [("year", "2026")]).status == 403)
            // The history download: the station's records as CSV, for inspectors only.
            let history = try await inspector.get("/console/stations/\(station.id)/history.csv")
            #expect(history.status == 200 && history.headers.first(name: "content-disposition")?.contains("history.csv") == true)
            #expect(history.body.utf8.split(separator: UInt8(ascii: "\n")).count == 50, "\(history.body.prefix(300))")  // the header and the 49 records pushed
            #expect(try await agent.get("/console/stations/\(station.id)/history.csv").status == 403)
            // Inspection gaps: the stations that never reported are silent.
            let gaps = try await agent.get("/console/inspection-gaps")
            #expect(gaps.status == 200 && gaps.body.contains("id=\"gaps\"") && gaps.body.contains("data-gap="), "\(gaps.body.suffix(500))")
            #expect(gaps.body.contains("从未上报数据") && !gaps.body.contains("never sent"), "the stations that never reported, in Chinese")
            // The batch delivered to T1 is traced to the station and tank.
            let batch = try await agent.get("/console/batches?batch=B1")
            #expect(batch.status == 200 && batch.body.contains("id=\"batch-periods\"") && batch.body.contains("/console/stations/\(station.id)"))
            #expect(try await agent.get("/console/batches?batch=NONE").body.contains("id=\"batch-none\""))
            #expect(try await agent.get("/console/stations/\(station.id)?days=5").status == 200)  // an unknown window falls back to 7 days
        }
    }

    /// Daily figures end to end: a detector's reconciliation days reach the station page as dots
    /// against their band, the day that lost fuel marked outside it.
    @Test func stationPageDrawsDailyFigures() async throws {
        try await TestDaemon.with { d in
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            let lines = StationDays.lines(days: 3, lossDay: 1)
            _ = try await d.client.push(station: station.id, key: key, lines: lines)
            try await d.detectionCaughtUp()

            var agent = ConsoleAgent(base: d.client.baseURL)
            _ = try await agent.signIn(try await d.token(.viewer))
            let page = try await agent.get("/console/stations/\(station.id)?days=7")
            #expect(page.status == 200)
            let figure = try #require(page.body.range(of: #"data-figure="reconciliation_variance" data-subject="T1""#)
                .map { String(page.body[$0.lowerBound...]) })
            let chart = String(figure[..<(figure.range(of: "</figure>")?.lowerBound ?? figure.endIndex)])
            #expect(chart.contains("3 天有数据") && chart.components(separatedBy: "h0").count - 1 == 2, "\(chart)")
            #expect(chart.components(separatedBy: "<circle class=\"dot outside\"").count - 1 == 1, "\(chart)")
            #expect(chart.contains("2026-11-02 -4"), "the loss day's dot names its day and its variance: \(chart)")
            #expect(chart.contains(#"class="band" d="M"#))
            // The same days in the language switch's other catalogue.
            #expect(page.body.contains("日对账差异"))
        }
    }

    /// The background verifier recomputes each chain and keeps when; the station page says so, and
    /// says "broken" after a record is edited in the database behind the ledger's back.
    @Test func chainVerificationIsKeptAndShown() async throws {
        try await TestDaemon.with(tweak: { $0.checkpoint.verifyEvery = .seconds(2) }) { d in
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            _ = try await d.client.push(station: station.id, key: key, lines: StationDays.lines(days: 1, lossDay: nil, readingMinutes: 60))
            let audit = ChainAudit(database: d.db)
            var verified: ChainVerification?
            for _ in 0..<100 {
                verified = try await audit.lastVerification(station: station.id)
                if verified?.headSeq == 52 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(verified?.headSeq == 52 && verified?.records == 52 && verified?.intact == true, "\(String(describing: verified))")
            var agent = ConsoleAgent(base: d.client.baseURL)
            _ = try await agent.signIn(try await d.token(.viewer))
            let page = try await agent.get("/console/stations/\(station.id)")
            let line = try #require(page.body.range(of: #"id="chain-verified">"#).map { String(page.body[$0.upperBound...].prefix { $0 != "\n" }) })
            #expect(line.contains("52 条记录") && line.contains("完整") && line.contains("全链最近复算"), "\(line)")

            try await TestPostgres.superuser(d.db, """
                ALTER TABLE ledger DISABLE TRIGGER USER; UPDATE ledger SET body = replace(body, '"volume_l":100', '"volume_l":90') WHERE station = '\(station.id)' AND chain_seq = 1;
                ALTER TABLE ledger ENABLE TRIGGER USER
                """)
            #expect(try await audit.verify(station: station.id).isIntact == false)
            // (A background pass that began before the edit may still write "intact" once; the next one cannot.)
            var shown = false
            for _ in 0..<50 where !shown {
                shown = try await agent.get("/console/stations/\(station.id)").body.contains(#"<span class="verdict-fail">断裂</span>"#)
                if !shown { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(shown)
            let broken = try await audit.lastVerification(station: station.id)
            #expect(broken?.intact == false && broken?.break?.isEmpty == false)
        }
    }

    @Test func alertPagesAndTheLiveStream() async throws {
        try await TestDaemon.with { d in
            let viewer = try await d.token(.viewer)
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            // Two alerts: prices above the ceiling on two grades (one alert per grade).
            let store = AlertStore(database: d.db)
            _ = try await d.client.push(station: station.id, key: key, lines: [
                #"{"seq":1,"kind":"price_change","effective_at":"2026-11-01T00:00:00Z","grade":"92","unit_price":99.0}"#,
                #"{"seq":2,"kind":"price_change","effective_at":"2026-11-01T00:01:00Z","grade":"95","unit_price":99.0}"#,
            ])
            try await d.detectionCaughtUp()
            var f = AlertFilter()
            f.status = .all
            let all = try await store.list(f)
            #expect(all.count >= 2)
            // Keyset pages of one: every alert once, newest first, then no `next`.
            var seen: [Int64] = []
            var cursor: String?
            for _ in 0..<(all.count + 1) {
                let path = "/v1/alerts?status=all&limit=1" + (cursor.map { "&cursor=\($0)" } ?? "")
                let (status, body) = try await d.client.send(.GET, path, token: viewer)
                #expect(status == 200)
                guard case .array(let page)? = try d.json(body)["alerts"] else { Issue.record("no alerts: \(body)"); return }
                for case .object(let a) in page { if case .number(let id, _)? = a["id"] { seen.append(Int64(id)) } }
                guard case .string(let next)? = try d.json(body)["next"] else { cursor = nil; break }
                cursor = next
            }
            #expect(seen == all.map(\.id) && cursor == nil, "\(seen) vs \(all.map(\.id))")
            #expect(try await d.client.send(.GET, "/v1/alerts?cursor=bogus", token: viewer).0 == 400)

            // The stream: resumed after the first alert it sends the rest, then a new one live.
            let first = try #require(all.last?.id)
            var request = HTTPClientRequest(url: d.client.baseURL + "/v1/alerts/stream")
            request.headers.add(name: "authorization", value: "Bearer \(viewer)")
            request.headers.add(name: "last-event-id", value: "\(first)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok && response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            var text = ""
            var ids: [Int64] = []
            let pushed = Task {
                try await Task.sleep(for: .milliseconds(500))
                _ = try await d.client.push(station: station.id, key: key, lines: [
                    #"{"seq":3,"kind":"price_change","effective_at":"2026-11-01T00:02:00Z","grade":"0","unit_price":99.0}"#,
                ])
            }
            let began = ContinuousClock.now
            for try await chunk in response.body {
                text += String(buffer: chunk)
                ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
                if ids.count >= all.count || ContinuousClock.now - began > .seconds(20) { break }
            }
            try await pushed.value
            let expected = all.map(\.id).filter { $0 > first }.sorted()
            #expect(Array(ids.prefix(expected.count)) == expected, "\(text)")
            #expect(ids.count == all.count, "a new alert arrives live: \(text)")
            #expect(text.contains("event: alert\ndata: {"))
        }
    }

    /// Alert ids are taken when a row is inserted, not when it commits: a lower id can commit after a
    /// higher one. The stream hears commits, so it sends both.
    @Test func theStreamMissesNoAlertCommittedOutOfIdOrder() async throws {
        try await TestDaemon.with { d in
            let viewer = try await d.token(.viewer)
            let station = d.registry.stations[0].id
            for _ in 0..<100 where await !d.components.alertFeed.isListening { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await d.components.alertFeed.isListening)
            var request = HTTPClientRequest(url: d.client.baseURL + "/v1/alerts/stream")
            request.headers.add(name: "authorization", value: "Bearer \(viewer)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            func insert(_ fingerprint: String) -> PostgresQuery {
                "INSERT INTO alerts (fingerprint, rule, station, subject, severity, status, opened_at, evidence) VALUES (\(fingerprint), 'telemetry_gap', \(station), 'T1', 'warning', 'open', now(), '{}'::jsonb) RETURNING id"
            }
            let (held, release) = AsyncStream.makeStream(of: Int64.self)
            let (go, proceed) = AsyncStream.makeStream(of: Void.self)
            let slow = Task {
                try await d.db.client.withConnection { conn in
                    _ = try await conn.query("BEGIN", logger: d.db.logger)
                    let id = try await conn.query(insert("test/slow"), logger: d.db.logger).collect().first!.decode(Int64.self)
                    release.yield(id)
                    for await _ in go { break }
                    _ = try await conn.query("COMMIT", logger: d.db.logger)
                }
            }
            var it = held.makeAsyncIterator()
            let slowID = try #require(await it.next())
            let fastID = try #require(try await d.db.client.query(insert("test/fast")).collect().first?.decode(Int64.self))
            #expect(fastID > slowID)
            try await Task.sleep(for: .milliseconds(300))
            proceed.yield()
            try await slow.value
            var text = ""
            let began = ContinuousClock.now
            for try await chunk in response.body {
                text += String(buffer: chunk)
                let ids = Set(text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) })
                if ids.isSuperset(of: [slowID, fastID]) || ContinuousClock.now - began > .seconds(10) { break }
            }
            let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
            #expect(ids == [fastID, slowID], "committed in that order: \(text)")
        }
    }
}
