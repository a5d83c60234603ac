import AsyncHTTPClient
import FuelPostgresFixture
import FuelWire
import Foundation
import NIOCore
import NIOHTTP1

/// A small W3C WebDriver client for the browser tests: it starts Debian's `chromedriver`, which
/// drives a headless `chromium`. Only what the tests use — navigate, find, click, type, run a
/// script, resize, screenshot, read the browser's console log. (Hand-written because the Swift
/// WebDriver packages are not among the machine's packages; the protocol is a few JSON calls.)
final class WebDriver: @unchecked Sendable {
    static let element = "element-6066-11e4-a52e-4f735466cecf"

    /// `chromedriver` and `chromium` when both are installed.
    static var binaries: (driver: String, browser: String)? {
        let fm = FileManager.default
        let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { fm.isExecutableFile(atPath: $0) }
        let browser = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"].first { fm.isExecutableFile(atPath: $0) }
        guard let driver, let browser else { return nil }
        return (driver, browser)
    }

    /// Whether the browser tests must run (CI sets it): then a missing browser is a failure, not a skip.
    static var required: Bool { ProcessInfo.processInfo.environment["FUELWARDEN_REQUIRE_BROWSER"] == "1" }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let process: SpawnedProcess
    let base: String
    let session: String

    private init(process: SpawnedProcess, base: String, session: String) {
        self.process = process
        self.base = base
        self.session = session
    }

    /// Starts chromedriver on a free port and opens a headless browser session `width` × `height`.
    static func start(width: Int = 1280, height: Int = 900) async throws -> WebDriver {
        guard let (driver, browser) = binaries else { throw Failure(description: "chromium and chromedriver are not installed") }
        let port = Int.random(in: 20_000...40_000)
        let p = try SpawnedProcess([driver, "--port=\(port)", "--log-level=SEVERE"], output: "/dev/null")
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<100 {
            if let status = try? await call(base, .GET, "/status", nil), case .object(let o)? = status["value"],
               o["ready"] == .bool(true) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let caps: JSONValue = .object([("capabilities", .object([("alwaysMatch", .object([
            ("browserName", .string("chrome")),
            ("goog:chromeOptions", .object([
                ("binary", .string(browser)),
                ("args", .array(["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--window-size=\(width),\(height)", "--lang=zh-CN"].map { .string($0) })),
                // The browser of a province's regulator asks for Chinese.
                ("prefs", .object([("intl.accept_languages", .string("zh-CN,zh"))])),
            ])),
            ("goog:loggingPrefs", .object([("browser", .string("ALL"))])),
        ]))]))])
        do {
            let reply = try await call(base, .POST, "/session", caps)
            guard case .object(let v)? = reply["value"], case .string(let id)? = v["sessionId"] else {
                throw Failure(description: "no session: \(reply)")
            }
            return WebDriver(process: p, base: base, session: id)
        } catch {
            _ = p.terminate(graceSeconds: 5)
            throw error
        }
    }

    func quit() async {
        _ = try? await Self.call(base, .DELETE, "/session/\(session)", nil)
        // Reaped here (SpawnedProcess waits by polling waitpid, not by spinning a run loop).
        _ = process.terminate(graceSeconds: 5)
    }

    // MARK: Commands

    func open(_ url: String) async throws { _ = try await command(.POST, "url", .object([("url", .string(url))])) }

    var url: String {
        get async throws {
            guard case .string(let u)? = try await command(.GET, "url", nil) else { throw Failure(description: "no url") }
            return u
        }
    }

    /// The first element matching a CSS selector, or nil.
    func find(_ css: String) async throws -> String? {
        let v = try await command(.POST, "elements", .object([("using", .string("css selector")), ("value", .string(css))]))
        guard case .array(let all)? = v, case .object(let first)? = all.first, case .string(let id)? = first[Self.element] else { return nil }
        return id
    }

    /// Waits up to `seconds` for an element matching `css`.
    func wait(for css: String, seconds: Double = 10) async throws -> String {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if let e = try await find(css) { return e }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "no element \(css) within \(seconds) s at \(try await url)")
    }

    /// Waits up to `seconds` for the page's URL to end with `suffix` (a click's navigation done).
    func wait(forURLEnding suffix: String, seconds: Double = 10) async throws {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if try await url.hasSuffix(suffix) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "the page did not reach …\(suffix) within \(seconds) s: at \(try await url)")
    }

    /// Waits up to `seconds` for an element matching `css` whose text contains `text`.
    func wait(for css: String, containing text: String, seconds: Double = 10) async throws -> String {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if let e = try? await find(css), let t = try? await self.text(e), t.contains(text) { return e }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "no \(css) containing \"\(text)\" within \(seconds) s at \(try await url)")
    }

    func click(_ element: String) async throws { _ = try await command(.POST, "element/\(element)/click", .object([])) }

    func type(_ element: String, _ text: String) async throws {
        _ = try await command(.POST, "element/\(element)/value", .object([("text", .string(text))]))
    }

    func text(_ element: String) async throws -> String {
        guard case .string(let t)? = try await command(.GET, "element/\(element)/text", nil) else { return "" }
        return t
    }

    /// Runs a script in the page and answers its return value.
    func run(_ script: String) async throws -> JSONValue? {
        try await command(.POST, "execute/sync", .object([("script", .string(script)), ("args", .array([]))]))
    }

    func resize(width: Int, height: Int) async throws {
        _ = try await command(.POST, "window/rect", .object([("width", .number(Double(width), exactInteger: Int64(width))),
                                                              ("height", .number(Double(height), exactInteger: Int64(height)))]))
    }

    /// A PNG of the viewport.
    func screenshot() async throws -> Data {
        guard case .string(let b64)? = try await command(.GET, "screenshot", nil), let data = Data(base64Encoded: b64) else {
            throw Failure(description: "no screenshot")
        }
        return data
    }

    /// The browser console's entries since the last call: (level, message).
    func consoleLog() async throws -> [(level: String, message: String)] {
        guard case .array(let entries)? = try await command(.POST, "se/log", .object([("type", .string("browser"))])) else { return [] }
        return entries.compactMap { e in
            guard case .object(let o) = e, case .string(let level)? = o["level"], case .string(let message)? = o["message"] else { return nil }
            return (level, message)
        }
    }

    // MARK: Wire

    private func command(_ method: HTTPMethod, _ path: String, _ body: JSONValue?) async throws -> JSONValue? {
        try await Self.call(base, method, "/session/\(session)/\(path)", body)["value"]
    }

    private static func call(_ base: String, _ method: HTTPMethod, _ path: String, _ body: JSONValue?) async throws -> [(String, JSONValue)] {
        var r = HTTPClientRequest(url: base + path)
        r.method = method
        if let body {
            r.headers.add(name: "content-type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let response = try await HTTPClient.shared.execute(r, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
        guard case .object(let o) = try JSONParser.parse(text) else { throw Failure(description: "not JSON: \(text.prefix(200))") }
        if response.status.code >= 400 { throw Failure(description: "\(method) \(path): HTTP \(response.status.code) \(text.prefix(500))") }
        return o
    }
}
