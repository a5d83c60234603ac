import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// `/console/stations/{id}/inspection?year=Y`: the annual-inspection pre-check with every rule's
/// outcome, reason and evidence; an inspector records the verdict (the same path as the API's).
/// `/console/batches?batch=B`: a batch recall — every station, tank and period that held it and the
/// litres sold.
extension ConsoleController {
    func inspectionYear(_ request: Request) -> Int {
        request.uri.queryParameters.get("year").flatMap(Int.init).flatMap { (2000...2200).contains($0) ? $0 : nil } ?? ReportQuarter.today.year
    }

    func inspectionPage(_ request: Request, id: String?, signedIn given: SignedIn? = nil, year givenYear: Int? = nil,
                        recorded: RecordedInspection? = nil) async throws -> Response {
        let s: SignedIn
        if let given { s = given } else { s = try await requireSignedIn(request) }
        guard let id, let station = directory.station(id) else { throw PageError(status: .notFound, key: "not_found", detail: id) }
        let year = givenYear ?? inspectionYear(request)
        let lang = s.lang
        let t = texts.catalogue(lang)
        let report = try await directory.inspect(station, year, nil).0
        var c = layout(title: "\(t["inspection_title"] ?? "") · \(station.name)", lang: lang, signedIn: s,
                       path: "/console/stations/\(station.id)/inspection?year=\(year)")
        c["station"] = ["id": station.id, "name": station.name] as [String: Any]
        c["year"] = year
        c["asOf"] = report.asOf.description
        c["verdict"] = report.verdict.rawValue
        c["verdictText"] = t["verdict_\(report.verdict.rawValue)"] ?? report.verdict.rawValue
        c["findings"] = report.findings.map { f -> [String: Any] in
            [
                "rule": t["check_\(f.rule)"] ?? f.rule, "outcome": f.outcome.rawValue, "outcomeText": t["verdict_\(f.outcome.rawValue)"] ?? f.outcome.rawValue,
                "reason": ReasonText.say(f.code, fallback: f.reason, t),
                "evidence": f.evidence.sorted { $0.key < $1.key }
                    .map { key, value in EvidenceText.name(key, t) + (t["colon"] ?? ": ") + EvidenceText.value(value, t) }.joined(separator: " · "),
            ]
        }
        c["canRecord"] = s.session.principal.canAct(as: .inspector)
        c["historyURL"] = "/console/stations/\(station.id)/history.csv"
        if let recorded {
            c["recorded"] = ["id": recorded.id, "by": recorded.recordedBy, "at": ConsoleTime.text(recorded.recordedAt)] as [String: Any]
        }
        c["years"] = (0..<3).map { ReportQuarter.today.year - $0 }.map { ["year": $0, "current": $0 == year,
                                                                          "href": "/console/stations/\(station.id)/inspection?year=\($0)"] as [String: Any] }
        return ConsoleHeaders.html(templates.render("inspection", c))
    }

    /// The station's records as CSV, for inspectors (as the API's history export).
    func historyDownload(_ request: Request, id: String?) async throws -> Response {
        let s = try await requireSignedIn(request)
        guard s.session.principal.canAct(as: .inspector) else { throw PageError(status: .forbidden, key: "forbidden") }
        guard let id, directory.station(id) != nil else { throw PageError(status: .notFound, key: "not_found", detail: id) }
        var response = try await directory.historyCSV(id)
        for f in ConsoleHeaders.base { response.headers.append(f) }
        response.headers[.contentDisposition] = "attachment; filename=\"\(id)-history.csv\""
        return response
    }

    struct InspectionForm: Decodable {
        var csrf: String?
        var year: Int?
    }

    func recordInspection(_ request: Request, id: String?) async throws -> Response {
        let s = try await requireSignedIn(request)
        let form = try await ConsoleForm.decode(InspectionForm.self, request)
        try checkCSRF(form.csrf, s)
        guard s.session.principal.canAct(as: .inspector) else { throw PageError(status: .forbidden, key: "forbidden") }
        guard let id, let station = directory.station(id) else { throw PageError(status: .notFound, key: "not_found", detail: id) }
        let year = form.year ?? ReportQuarter.today.year
        let recorded = try await directory.inspect(station, year, s.session.principal.actor).1
        return try await inspectionPage(request, id: id, signedIn: s, year: year, recorded: recorded)
    }

    /// `/console/inspection-gaps?city=C`: what an inspection would find, province-wide or for a city.
    func gapsPage(_ request: Request) async throws -> Response {
        let s = try await requireSignedIn(request)
        let lang = s.lang
        let t = texts.catalogue(lang)
        let city = request.uri.queryParameters.get("city").flatMap { code in directory.cities().contains { $0.code == code } ? code : nil }
        let gaps = try await directory.inspectionGaps(city)
        var c = layout(title: t["gaps_title"] ?? "", lang: lang, signedIn: s, path: "/console/inspection-gaps" + (city.map { "?city=\($0)" } ?? ""))
        c["cityOptions"] = directory.cities().map { ["value": $0.code, "label": $0.name, "selected": $0.code == city] as [String: Any] }
        c["count"] = gaps.count
        c["stations"] = Set(gaps.map(\.station)).count
        let cityNames = Dictionary(directory.cities().map { ($0.code, $0.name) }, uniquingKeysWith: { a, _ in a })
        c["gaps"] = gaps.map { g -> [String: Any] in
            [
                "station": g.station, "stationText": stationText(g.station), "city": cityNames[g.city] ?? g.city,
                "kind": g.kind.rawValue, "kindText": t["gap_\(g.kind.rawValue)"] ?? g.kind.rawValue, "subject": g.subject, "detail": ReasonText.say(g.code, fallback: g.detail, t),
                "date": g.date?.description ?? "",
            ]
        }
        return ConsoleHeaders.html(templates.render("gaps", c))
    }

    func batchPage(_ request: Request) async throws -> Response {
        let s = try await requireSignedIn(request)
        let lang = s.lang
        let t = texts.catalogue(lang)
        let batch = request.uri.queryParameters.get("batch").map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty || $0.count > 128 ? nil : $0 }
        var c = layout(title: t["batch_title"] ?? "", lang: lang, signedIn: s, path: "/console/batches")
        c["batch"] = batch ?? ""
        if let batch {
            var nozzles: [String: [String: [String]]] = [:]
            for st in directory.stations() { for n in st.nozzles { nozzles[st.id, default: [:]][n.tank, default: []].append(n.id) } }
            let rows = try await ProvenanceStore(database: database).trace(batch: batch, nozzles: nozzles)
            c["searched"] = true
            c["found"] = !rows.isEmpty
            c["stations"] = Set(rows.map(\.period.station)).count
            c["soldL"] = JSONText.number((rows.reduce(0) { $0 + $1.soldL * $1.fraction }).rounded())
            c["deliveredL"] = JSONText.number(rows.filter { $0.period.batch == batch }.reduce(0) { $0 + $1.period.deliveredL }.rounded())
            c["periods"] = rows.map { r -> [String: Any] in
                [
                    "station": r.period.station, "stationText": stationText(r.period.station), "tank": r.period.tank,
                    "from": ConsoleTime.text(r.period.validFrom), "to": r.period.validTo.map(ConsoleTime.text) ?? "—",
                    "share": JSONText.number((r.fraction * 1000).rounded() / 10), "sales": r.sales,
                    "soldL": JSONText.number((r.soldL * r.fraction).rounded()), "delivery": r.period.batch == batch,
                ]
            }
        }
        return ConsoleHeaders.html(templates.render("batch", c))
    }
}
