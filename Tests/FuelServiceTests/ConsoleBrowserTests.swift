import FuelModel
import FuelStore
import FuelWire
import Foundation
import Testing

/// The console in a real browser (Debian's chromium through chromedriver), against a real daemon
/// and PostgreSQL: sign in as inspector and as viewer, an alert appearing live after a push, an
/// acknowledgement, the language switch, the 390 px phone layout, and no browser console errors.
/// Screenshots of each page go to `FUELWARDEN_SCREENSHOTS` (default `.build/console-screenshots`).
/// Skipped when chromium is not installed, unless `FUELWARDEN_REQUIRE_BROWSER=1` (CI) makes that a failure.
@Suite(.serialized) struct ConsoleBrowserTests {
    static let screenshots = ProcessInfo.processInfo.environment["FUELWARDEN_SCREENSHOTS"] ?? ".build/console-screenshots"

    func save(_ browser: WebDriver, _ name: String) async throws {
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        try await browser.screenshot().write(to: URL(fileURLWithPath: "\(Self.screenshots)/\(name).png"))
    }

    /// Console entries that are errors (a failed resource, a script error, a CSP violation).
    func errors(_ browser: WebDriver) async throws -> [String] {
        try await browser.consoleLog().filter { $0.level == "SEVERE" }.map(\.message)
    }

    @Test func signInWatchAcknowledgeSwitchLanguageAndPhoneLayout() async throws {
        guard WebDriver.binaries != nil else {
            #expect(!WebDriver.required, "FUELWARDEN_REQUIRE_BROWSER=1 but chromium/chromedriver are not installed")
            return
        }
        try await TestDaemon.with { d in
            let base = d.client.baseURL
            let inspectorToken = try await d.token(.inspector), viewerToken = try await d.token(.viewer)
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            let browser = try await WebDriver.start()
            do {
                // Sign in: the console sends an unknown visitor to the sign-in page.
                try await browser.open(base + "/console/")
                let token = try await browser.wait(for: "#token")
                try await save(browser, "1-sign-in")
                try await browser.type(token, inspectorToken)
                try await browser.click(try await browser.wait(for: "#sign-in"))
                _ = try await browser.wait(for: "#alerts-board")
                #expect(try await browser.url.hasSuffix("/console/alerts"))
                #expect(try await browser.find("tr[data-alert]") == nil)
                // The live stream is connected; a push that raises an alert shows up without a reload.
                _ = try await browser.wait(for: "#live.on")
                _ = try await d.client.push(station: station.id, key: key, lines: [
                    #"{"seq":1,"kind":"price_change","effective_at":"2026-11-01T00:00:00Z","grade":"92","unit_price":99.0}"#,
                ])
                let row = try await browser.wait(for: "tr[data-alert]", seconds: 15)
                let rowText = try await browser.text(row)
                #expect(rowText.contains("超最高限价") && rowText.contains("\(station.name) (\(station.id))"), "\(rowText)")
                #expect(try await browser.text(try await browser.wait(for: ".count[data-severity='warning'] b")) == "1")
                try await save(browser, "2-alerts-board")
                let problems = try await errors(browser)
                #expect(problems.isEmpty, "browser console errors: \(problems)")

                // Open it and acknowledge it with a note.
                try await browser.click(try await browser.wait(for: "tr[data-alert] a[href^='/console/alerts/']"))
                let note = try await browser.wait(for: "form[action$='/ack'] textarea")
                try await browser.type(note, "现场核查中 on site")
                try await browser.click(try await browser.wait(for: "#ack"))
                // The new page, not the one the click left: its status says acknowledged.
                let status = try await browser.wait(for: "#alert-status", containing: "已确认")
                #expect(try await browser.text(status) == "已确认")
                let ack = try await browser.find("#ack"), resolve = try await browser.find("#resolve")
                #expect(ack == nil && resolve != nil)
                #expect(try await browser.text(try await browser.wait(for: "#history")).contains("现场核查中 on site"))
                try await save(browser, "3-alert")

                // The station's page, its tank charts drawn from the readings: three days read every
                // ten minutes, the second losing fuel, so the daily figures have days to draw.
                let lines = StationDays.lines(days: 3, lossDay: 1, readingMinutes: 10, firstSeq: 2)
                for part in stride(from: 0, to: lines.count, by: 250) {  // pushes are bounded in size
                    _ = try await d.client.push(station: station.id, key: key, lines: Array(lines[part..<min(part + 250, lines.count)]))
                }
                try await d.detectionCaughtUp()
                try await browser.click(try await browser.wait(for: "#alert-facts a[href^='/console/stations/']"))
                _ = try await browser.wait(for: "#tank-T1 svg path.series")
                try await browser.click(try await browser.wait(for: "a[href$='?days=1']"))
                try await browser.wait(forURLEnding: "?days=1")
                _ = try await browser.wait(for: "#tank-T1 svg path.series")
                let d0 = try await browser.run("return document.querySelector('#tank-T1 svg path.series').getAttribute('d')")
                guard case .string(let pathData)? = d0 else { Issue.record("no chart path"); return }
                #expect(pathData.split(separator: "L").count >= 90, "\(pathData.prefix(200))")
                // The daily reconciliation: a dot a judged day, the loss day outside its band.
                let dots = try await browser.run("return document.querySelector('[data-figure=reconciliation_variance] path.dots').getAttribute('d').split('h0').length - 1 + ',' + document.querySelectorAll('[data-figure=reconciliation_variance] circle.outside').length")
                #expect(dots == .string("2,1"), "\(String(describing: dots))")
                try await save(browser, "5-station")
                _ = try await browser.run("document.getElementById('tank-T1').scrollIntoView(); return 0")
                try await save(browser, "6-station-tank")
                _ = try await browser.run("document.querySelector('#tank-T1 .figures').scrollIntoView(); return 0")
                try await save(browser, "6b-station-figures")
                try await browser.click(try await browser.wait(for: "#nav-cities"))
                try await browser.wait(forURLEnding: "/console/cities")
                _ = try await browser.wait(for: "#cities tr[data-city]")
                try await save(browser, "7-cities")
                try await browser.open(base + "/console/stations/\(station.id)/inspection?year=2026")
                _ = try await browser.wait(for: "#findings")
                try await save(browser, "8-inspection")

                // English, kept for the session.
                try await browser.click(try await browser.wait(for: "#lang-switch"))
                _ = try await browser.wait(for: "html[lang='en']")
                try await browser.open(base + "/console/alerts?status=all")
                _ = try await browser.wait(for: "html[lang='en'] #alerts-board")
                #expect(try await browser.text(try await browser.wait(for: "#alerts-board")).contains("Price above ceiling"))

                // A phone, 390 px wide: nothing scrolls sideways on the board or the alert.
                try await browser.resize(width: 390, height: 844)
                for path in ["/console/alerts?status=all", "/console/alerts/\(try await firstAlert(d))"] {
                    try await browser.open(base + path)
                    _ = try await browser.wait(for: "main")
                    let width = try await browser.run("return document.documentElement.scrollWidth")
                    guard case .number(let w, _)? = width else { Issue.record("no width"); continue }
                    #expect(w <= 390, "\(path) is \(w) px wide at 390")
                }
                try await browser.open(base + "/console/alerts?status=all")
                _ = try await browser.wait(for: "#alerts-board")
                try await save(browser, "4-alerts-board-390px")
                let phoneProblems = try await errors(browser)
                #expect(phoneProblems.isEmpty, "browser console errors: \(phoneProblems)")

                // Sign out; a viewer sees the alert without the buttons.
                try await browser.resize(width: 1280, height: 900)
                try await browser.click(try await browser.wait(for: "#sign-out"))
                try await browser.wait(forURLEnding: "/console/sign-in?lang=en")
                try await browser.type(try await browser.wait(for: "#token"), viewerToken)
                try await browser.click(try await browser.wait(for: "#sign-in"))
                // The sign-in's own navigation first, or it would overtake the next one.
                _ = try await browser.wait(for: ".who", containing: "viewer")
                try await browser.open(base + "/console/alerts/\(try await firstAlert(d))")
                _ = try await browser.wait(for: "#alert-status")
                let viewerAck = try await browser.find("#ack"), viewerResolve = try await browser.find("#resolve")
                #expect(viewerAck == nil && viewerResolve == nil)
                let viewerProblems = try await errors(browser)
                #expect(viewerProblems.isEmpty, "browser console errors: \(viewerProblems)")
            } catch {
                try? await save(browser, "failure")
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }

    func firstAlert(_ d: TestDaemon) async throws -> Int64 {
        var f = AlertFilter()
        f.status = .all
        return try #require(try await AlertStore(database: d.db).list(f).first?.id)
    }
}
