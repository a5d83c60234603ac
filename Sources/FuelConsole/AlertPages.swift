import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// The alerts board's filters as they arrive in the query string (a plain link reproduces a view).
struct BoardFilter {
    var status: AlertFilter.Status = .active
    var city: String?
    var rule: AlertRule?
    var severity: Severity?
    var station: String?
    var since: String?
    var cursor: AlertCursor?

    init(_ request: Request) throws {
        let q = request.uri.queryParameters
        func value(_ name: String) -> String? {
            q.get(name).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty || $0.count > 64 ? nil : $0 }
        }
        do {
            if let s = value("status") { status = try AlertFilter.status(s) }
            city = value("city")
            station = value("station")
            rule = try value("rule").map(AlertFilter.rule)
            severity = try value("severity").map(AlertFilter.severity)
            cursor = try value("cursor").map(AlertFilter.cursor)
        } catch let e as AlertQueryError {
            throw ConsoleController.PageError(status: .badRequest, key: "error_title", detail: e.description)
        }
        if let s = value("since") {
            guard ConsoleTime.startOfDay(s) != nil else { throw ConsoleController.PageError(status: .badRequest, key: "error_title", detail: "since") }
            since = s
        }
    }

    var store: AlertFilter {
        var f = AlertFilter()
        f.status = status
        f.city = city
        f.rule = rule
        f.severity = severity
        f.station = station
        f.since = since.flatMap(ConsoleTime.startOfDay)
        f.after = cursor
        f.limit = ConsoleController.pageSize
        return f
    }

    var streamFilter: AlertEventStream.Filter { .init(station: station, city: city, rule: rule, severity: severity) }

    /// The query string of these filters (with another cursor, or none).
    func query(cursor: AlertCursor?, status: AlertFilter.Status? = nil, rule: AlertRule? = nil) -> String {
        var items: [(String, String)] = [("status", (status ?? self.status).rawValue)]
        if let city { items.append(("city", city)) }
        if let r = rule ?? self.rule { items.append(("rule", r.rawValue)) }
        if let severity { items.append(("severity", severity.rawValue)) }
        if let station { items.append(("station", station)) }
        if let since { items.append(("since", since)) }
        if let cursor { items.append(("cursor", cursor.description)) }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.")
        return items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }
}

extension ConsoleController {
    func stationText(_ id: String) -> String { directory.stationName(id).map { "\($0) (\(id))" } ?? id }

    func board(_ request: Request) async throws -> Response {
        let s = try await requireSignedIn(request)
        let lang = s.lang
        let f = try BoardFilter(request)
        async let pageRows = alerts.list(f.store)
        async let countRows = alerts.activeCounts(city: f.city, station: f.station)
        let (page, counts) = try await (pageRows, countRows)
        let t = texts.catalogue(lang)
        var c = layout(title: texts.text("alerts_title", lang), lang: lang, signedIn: s, path: "/console/alerts?" + f.query(cursor: f.cursor))
        c["severityCounts"] = Severity.allCases.reversed().map { sev in
            ["severity": sev.rawValue, "label": t["severity_\(sev.rawValue)"] ?? sev.rawValue, "count": counts.bySeverity[sev] ?? 0] as [String: Any]
        }
        c["ruleCounts"] = counts.byRule.sorted { $0.value > $1.value }.map { rule, n in
            ["label": t["rule_\(rule.rawValue)"] ?? rule.rawValue, "count": n,
             "href": "/console/alerts?" + f.query(cursor: nil, status: .active, rule: rule)] as [String: Any]
        }
        c["statusOptions"] = AlertFilter.Status.allCases.map { st in
            ["value": st.rawValue, "label": t["status_\(st.rawValue)"] ?? st.rawValue, "selected": st == f.status] as [String: Any]
        }
        c["cityOptions"] = directory.cities().map { city in
            ["value": city.code, "label": city.name, "selected": city.code == f.city] as [String: Any]
        }
        c["ruleOptions"] = AlertRule.allCases.map { r in
            ["value": r.rawValue, "label": t["rule_\(r.rawValue)"] ?? r.rawValue, "selected": r == f.rule] as [String: Any]
        }
        c["severityOptions"] = Severity.allCases.map { sev in
            ["value": sev.rawValue, "label": t["severity_\(sev.rawValue)"] ?? sev.rawValue, "selected": sev == f.severity] as [String: Any]
        }
        c["filters"] = ["station": f.station ?? "", "since": f.since ?? ""]
        c["alerts"] = page.map { a in row(a, t) }
        if page.count == Self.pageSize, let last = page.last {
            c["nextURL"] = "/console/alerts?" + f.query(cursor: AlertCursor(after: last))
        }
        if f.cursor != nil { c["firstURL"] = "/console/alerts?" + f.query(cursor: nil) }
        c["streamURL"] = "/console/alerts/stream?" + f.query(cursor: nil)
        // The labels the live script needs to draw a row in the reader's language.
        let labels = t.filter { k, _ in k.hasPrefix("col_") || k.hasPrefix("rule_") || k.hasPrefix("severity_") || k.hasPrefix("status_") }
        c["labelsJSON"] = String(decoding: try JSONEncoder().encode(labels), as: UTF8.self)
        return ConsoleHeaders.html(templates.render("alerts", c))
    }

    func row(_ a: AlertRecord, _ t: [String: String]) -> [String: Any] {
        [
            "id": a.id, "raised": ConsoleTime.text(a.raisedAt), "station": a.station, "stationText": stationText(a.station), "subject": a.subject,
            "rule": a.rule.rawValue, "ruleText": t["rule_\(a.rule.rawValue)"] ?? a.rule.rawValue,
            "severity": a.severity.rawValue, "severityText": t["severity_\(a.severity.rawValue)"] ?? a.severity.rawValue,
            "status": a.status.rawValue, "statusText": t["status_\(a.status.rawValue)"] ?? a.status.rawValue,
            "occurrences": a.occurrences,
        ]
    }

    func alertID(_ text: String?) throws -> Int64 {
        guard let text, let id = Int64(text), id > 0 else { throw PageError(status: .notFound, key: "not_found") }
        return id
    }

    func alertPage(_ request: Request, id text: String?, signedIn given: SignedIn? = nil, error: String? = nil,
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        let s: SignedIn
        if let given { s = given } else { s = try await requireSignedIn(request) }
        let id = try alertID(text)
        guard let a = try await alerts.get(id: id) else { throw PageError(status: .notFound, key: "not_found", detail: "#\(id)") }
        let lang = s.lang
        let t = texts.catalogue(lang)
        var c = layout(title: "\(t["rule_\(a.rule.rawValue)"] ?? a.rule.rawValue) · \(a.station)", lang: lang, signedIn: s,
                       path: "/console/alerts/\(id)")
        var alert = row(a, t)
        let evidence = (try? JSONDecoder().decode([String: EvidenceValue].self, from: Data(a.evidenceJSON.utf8))) ?? [:]
        alert["evidence"] = evidence.sorted { $0.key < $1.key }.map { key, value -> [String: Any] in
            // The catalogue's name, the key beside it for whoever reads the API.
            ["key": key, "name": EvidenceText.name(key, t), "named": t["evidence_\(key)"] != nil, "value": EvidenceText.value(value, t)]
        }
        var history: [[String: Any]] = [
            ["what": t["history_opened"] ?? "", "at": ConsoleTime.text(a.openedAt)],
            ["what": t["history_raised"] ?? "", "at": ConsoleTime.text(a.raisedAt)],
        ]
        if a.occurrences > 1 || a.updatedAt > a.raisedAt.addingTimeInterval(1) {
            history.append(["what": "\(t["history_updated"] ?? "") (\(t["occurrences"] ?? "") \(a.occurrences))", "at": ConsoleTime.text(a.updatedAt)])
        }
        if let at = a.acknowledgedAt {
            history.append(["what": t["history_ack"] ?? "", "at": ConsoleTime.text(at), "who": a.acknowledgedBy ?? "", "note": a.ackNote ?? ""])
        }
        if let at = a.resolvedAt {
            history.append(["what": t["history_resolved"] ?? "", "at": ConsoleTime.text(at), "who": a.resolvedBy ?? "", "note": a.resolutionNote ?? ""])
        }
        alert["history"] = history
        c["alert"] = alert
        let canAct = s.session.principal.canAct(as: .inspector) && a.status != .resolved
        c["canAct"] = canAct
        c["canAck"] = canAct && a.status == .open
        if let error { c["error"] = texts.text(error, lang) }
        // The records that established it (at most 20 from the first).
        var records: [[String: Any]] = []
        if let from = a.seqFrom, from > 0 {
            let to = max(from, a.seqTo ?? from)
            for e in try await ledger.entries(station: a.station, after: from - 1, limit: Int(min(to - from + 1, 20))) {
                records.append([
                    "seq": e.chainSeq, "kind": e.source.rawValue, "at": e.receivedAt.map(ConsoleTime.text) ?? "", "body": e.body,
                ])
            }
        }
        c["records"] = records
        c["hasRecords"] = !records.isEmpty
        return ConsoleHeaders.html(templates.render("alert", c), status: status)
    }

    func transition(_ request: Request, id text: String?, _ t: AlertTransition) async throws -> Response {
        let s = try await requireSignedIn(request)
        let form = try await ConsoleForm.decode(CSRFForm.self, request)
        try checkCSRF(form.csrf, s)
        guard s.session.principal.canAct(as: .inspector) else { throw PageError(status: .forbidden, key: "forbidden") }
        let id = try alertID(text)
        let note = (form.note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty, note.unicodeScalars.count <= 2000, !note.unicodeScalars.contains(where: { $0.value == 0 }) else {
            return try await alertPage(request, id: text, signedIn: s, error: "note_required", status: .badRequest)
        }
        _ = try await alerts.transition(id: id, t, note: note, actor: s.session.principal.actor)
        return ConsoleHeaders.redirect("/console/alerts/\(id)")
    }
}
