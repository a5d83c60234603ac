import FuelDetect
import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// `/console/stations/{id}`: the registry's facts (status, hours, licences with days to expiry,
/// approvals, hazards, cases), the chain head and the last record of each kind, the station's
/// alerts, and per tank its gauge as detection measured it (quality, leak method, detection limit)
/// with a chart of its volume at 20 °C over a chosen window, deliveries marked.
extension ConsoleController {
    /// The chart windows offered, in days.
    static let windows = [1, 7, 30, 90, 365]
    /// The fewest days a daily-figure chart covers.
    static let minimumFigureDays = 30

    func stationPage(_ request: Request, id: String?) async throws -> Response {
        let s = try await requireSignedIn(request)
        guard let id, let station = directory.station(id) else { throw PageError(status: .notFound, key: "not_found", detail: id) }
        let lang = s.lang
        let t = texts.catalogue(lang)
        let days = request.uri.queryParameters.get("days").flatMap(Int.init).flatMap { Self.windows.contains($0) ? $0 : nil } ?? 7
        var c = layout(title: "\(station.name) (\(station.id))", lang: lang, signedIn: s, path: "/console/stations/\(station.id)?days=\(days)")

        async let headRow = RegistryStore(database: database).chainHead(station: station.id)
        async let alertRows: [AlertRecord] = {
            var f = AlertFilter()
            f.station = station.id
            f.status = .all
            f.limit = 20
            return try await alerts.list(f)
        }()
        async let stored = DetectionStore(database: database).loadState(StationDetector.self, station: station.id)
        async let verifiedRow = ChainAudit(database: database).lastVerification(station: station.id)
        let (head, stationAlerts, state, verified) = try await (headRow, alertRows, stored, verifiedRow)
        // Daily figures over the window, at least a month of them: one a day is little to read.
        let figureDays = max(days, Self.minimumFigureDays)
        let through = LocalClock(timezone: station.timezone).day(of: Timestamp(head?.lastRecordAt ?? Date()))
        let since = CivilDate(daysSinceEpoch: through.daysSinceEpoch - Int64(figureDays) + 1)
        var figures: [FigureKind: [String: [DailyFigure]]] = [:]
        for kind in FigureKind.allCases {
            let rows = try await DetectionStore(database: database).figures(station: station.id, kind: kind, from: since, through: through)
            figures[kind] = Dictionary(grouping: rows, by: { $0.subject })
        }
        func figureChart(_ kind: FigureKind, _ subject: String) -> [String: Any] {
            figureContext(kind, subject: subject, figures: figures[kind]?[subject] ?? [], through: through, days: figureDays, t: t)
        }

        let today = ReportQuarter.today
        c["station"] = [
            "id": station.id, "name": station.name, "address": station.address ?? "", "cityText": directory.cityName(station.city) ?? station.city,
            "statusText": t["station_status_\(station.status.rawValue)"] ?? station.status.rawValue, "status": station.status.rawValue,
            "hours": station.hours.description,
        ] as [String: Any]
        c["licences"] = station.licences.sorted { $0.key < $1.key }.map { kind, l -> [String: Any] in
            let left = l.expires.map { Int($0.daysSinceEpoch - today.daysSinceEpoch) }
            return ["kind": t["licence_\(kind)"] ?? kind, "number": l.number, "expires": l.expires?.description ?? "—",
                    "daysLeft": left.map { "\($0)" } ?? "—", "expiring": (left ?? .max) < 60, "state": t["licence_state_\(l.state.rawValue)"] ?? l.state.rawValue]
        }
        c["approvals"] = station.approvals.sorted { $0.key < $1.key }.map { kind, granted in
            ["kind": t["approval_\(kind)"] ?? kind, "granted": granted ? (t["yes"] ?? "yes") : (t["no"] ?? "no")] as [String: Any]
        }
        c["hazards"] = station.hazards.map { ["id": $0.id, "description": $0.description, "opened": $0.opened.description,
                                               "remedied": $0.remedied?.description ?? "—"] as [String: Any] }
        c["cases"] = station.cases.map { ["id": $0.id, "description": $0.description, "opened": $0.opened.description,
                                          "closed": $0.closed?.description ?? "—", "serious": $0.serious] as [String: Any] }
        c["hasHazards"] = !station.hazards.isEmpty
        c["hasCases"] = !station.cases.isEmpty
        if let head {
            c["chain"] = ["headSeq": head.headSeq, "headHash": head.headHash.map { String(format: "%02x", $0) }.joined(),
                          "lastRecord": head.lastRecordAt.map(ConsoleTime.text) ?? "—",
                          "lastReceived": head.lastReceivedAt.map(ConsoleTime.text) ?? "—"] as [String: Any]
            c["verified"] = verified.map { v -> [String: Any] in
                ["at": ConsoleTime.text(v.verifiedAt), "headSeq": v.headSeq, "records": v.records, "intact": v.intact,
                 "result": v.intact ? (t["chain_intact"] ?? "intact") : (t["chain_broken"] ?? "broken"), "break": v.break ?? "",
                 "wholeAt": v.wholeAt.map(ConsoleTime.text) ?? "", "hasWhole": v.wholeAt != nil]
            } ?? [:]
            c["neverVerified"] = verified == nil
            c["lastByKind"] = head.lastByKind.sorted { $0.key < $1.key }.map { ["kind": t["kind_\($0.key)"] ?? $0.key, "at": ConsoleTime.text($0.value)] }
        }
        c["alerts"] = stationAlerts.map { row($0, t) }
        // HJ 212 monitors as the listener last saw them (written by the listener every device sweep).
        let deviceRows = try await HJ212DeviceStore(database: database).rows(station: station.id)
        c["devices"] = deviceRows.map { d -> [String: Any] in
            let online = Date().timeIntervalSince(d.lastSeenAt) <= Double(settings.deviceOffline.components.seconds)
            return ["mn": d.mn, "edition": d.edition, "online": online,
                    "state": online ? (t["device_online"] ?? "online") : (t["device_offline"] ?? "offline"),
                    "lastSeen": ConsoleTime.text(d.lastSeenAt), "lastData": d.lastDataAt.map(ConsoleTime.text) ?? "—",
                    "packets": d.packets, "resent": d.resent]
        }
        c["hasDevices"] = !deviceRows.isEmpty
        c["windows"] = Self.windows.map { ["days": $0, "label": "\($0) \(t["days"] ?? "d")", "current": $0 == days,
                                           "href": "/console/stations/\(station.id)?days=\($0)"] as [String: Any] }

        // Per tank: the detector's view of the gauge and the chart, over the window that ends at the station's latest data.
        var assessments: [String: TankAssessment] = [:]
        if case .state(let detector) = state {
            for a in detector.tankAssessments(thresholds: thresholds) { assessments[a.tank] = a }
        }
        let end = (head?.lastRecordAt ?? Date()).addingTimeInterval(60)
        let from = end.addingTimeInterval(-Double(days) * 86_400)
        let series = TankSeriesStore(database: database)
        // A day is drawn from every reading; longer windows an hour a column (at most one a pixel),
        // from the hourly roll-up: a week's chart reads 168 rows a tank instead of two thousand.
        let columnCount = days <= 1 ? Int(SVGChart.width) : min(Int(SVGChart.width), days * 24)
        var tanks: [[String: Any]] = []
        for tank in station.tanks {
            let columns = try await series.columns(station: station.id, tank: tank.id, from: from, to: end, columns: columnCount)
            let deliveries = try await series.deliveries(station: station.id, tank: tank.id, from: from, to: end)
            let span = end.timeIntervalSince(from)
            let chart = SVGChart(columns: columns, count: columnCount,
                                 deliveryShares: deliveries.map { $0.at.timeIntervalSince(from) / span })
            var entry: [String: Any] = [
                "id": tank.id, "grade": tank.grade, "capacity": JSONText.number(tank.capacityL),
                "line": chart.line, "ranges": chart.ranges, "points": chart.points, "hasPoints": chart.points > 0,
                "high": JSONText.number(chart.high.rounded()), "low": JSONText.number(chart.low.rounded()),
                "deliveries": chart.deliveries.map { ["x": $0] }, "deliveryCount": deliveries.count,
                "from": ConsoleTime.text(from), "to": ConsoleTime.text(end),
                "chartWidth": Int(SVGChart.width), "chartHeight": Int(SVGChart.height),
                "plotBottom": Int(SVGChart.height - SVGChart.bottom),
            ]
            // Charts for what has figures; what has none yet named in one line.
            let charts = [figureChart(.reconciliationVariance, tank.id), figureChart(.leakRate, tank.id)]
                + station.nozzles.filter { $0.tank == tank.id }.map { figureChart(.meterError, $0.id) }
            entry["figures"] = charts.filter { $0["hasDots"] as? Bool == true }
            let empty = charts.filter { $0["hasDots"] as? Bool != true }.map { "\($0["short"] ?? "") \($0["subject"] ?? "")" }
            entry["noFigures"] = empty.joined(separator: "、")
            entry["hasNoFigures"] = !empty.isEmpty
            if let a = assessments[tank.id] {
                func fmt(_ v: Double?, _ digits: Double = 100) -> String { v.map { JSONText.number(($0 * digits).rounded() / digits) } ?? "—" }
                entry["gauge"] = [
                    "step": fmt(a.stepMM), "noise": fmt(a.noiseMM), "interval": fmt(a.intervalSeconds.map { $0 / 60 }, 10),
                    "readings": a.readings, "glitches": fmt(a.glitchShare * 100, 1000),
                    "method": a.method.map { t["method_\($0.rawValue)"] ?? $0.rawValue } ?? "—",
                    "meterPrior": a.meterPriorPercent.map { "\(t["gauge_meter_prior"] ?? "") ±\(fmt($0))" } ?? "",
                    "hasMeterPrior": a.meterPriorPercent != nil,
                    "rate": fmt(a.leakRateLPH, 1000), "se": fmt(a.leakStandardErrorLPH, 1000),
                    "limit": fmt(a.detectionLimitLPH), "target": fmt(a.targetLPH),
                    "meets": a.meetsTarget == true, "fails": a.meetsTarget == false,
                    "limitations": a.limitations.map { t["limitation_\($0.rawValue)"] ?? $0.rawValue }.joined(separator: "、"),
                    "hasLimitations": !a.limitations.isEmpty,
                    "days": "\(a.daysWithData ?? 0)/\(a.windowDays ?? 0)",
                    // Each nozzle's meter as the test sees it: a nozzle it cannot judge is named inconclusive.
                    "meters": a.meters.map { m in
                        ["nozzle": m.nozzle, "error": ((m.errorPercent ?? -1) >= 0 ? "+" : "") + fmt(m.errorPercent), "se": fmt(m.standardErrorPercent),
                         "limit": fmt(m.detectionLimitPercent, 10), "conclusive": m.conclusive, "measured": m.method != nil,
                         "stepLimit": fmt(m.stepDetectionLimitPercent, 10), "hasStepLimit": m.stepDetectionLimitPercent != nil] as [String: Any]
                    },
                    "hasMeters": !a.meters.isEmpty, "meterDays": a.meters.first?.windowDays ?? 0,
                    "meterTarget": fmt(a.meters.first?.targetPercent),
                ] as [String: Any]
            }
            tanks.append(entry)
        }
        c["tanks"] = tanks
        return ConsoleHeaders.html(templates.render("station", c))
    }
}

extension ConsoleController {
    /// One daily-figure chart for the `figure` partial: its title, unit and band in the reader's language.
    func figureContext(_ kind: FigureKind, subject: String, figures: [DailyFigure], through: CivilDate, days: Int,
                       t: [String: String]) -> [String: Any] {
        let unit = Self.figureUnits[kind]!
        let chart = FigureChart(figures: figures, through: through, days: days, unit: unit)
        var c: [String: Any] = [:]
        c["kind"] = kind.rawValue
        c["subject"] = subject
        c["title"] = t["figure_\(kind.rawValue)"] ?? kind.rawValue
        c["short"] = t["figure_short_\(kind.rawValue)"] ?? kind.rawValue
        c["firstDay"] = chart.firstDay.description
        c["lastDay"] = chart.lastDay.description
        c["plotBottom"] = Int(FigureChart.height - FigureChart.bottom)
        c["unit"] = unit
        c["band"] = t["figure_band_\(kind.rawValue)"] ?? ""
        c["hasDots"] = chart.count > 0
        c["count"] = chart.count
        c["outsideCount"] = chart.outsideCount
        c["hasOutside"] = chart.outsideCount > 0
        c["dots"] = chart.dots.map { ["x": $0.x, "y": $0.y, "label": $0.label] as [String: Any] }
        c["inside"] = chart.inside
        c["binned"] = chart.daysPerSlot > 1
        c["daysPerSlot"] = chart.daysPerSlot
        c["whiskers"] = chart.whiskers
        c["bandHigh"] = chart.bandHigh
        c["bandLow"] = chart.bandLow
        c["zero"] = chart.zero
        c["low"] = "\(ChartNumber.text(chart.low, digits: 2)) \(unit)"
        c["high"] = "\(ChartNumber.text(chart.high, digits: 2)) \(unit)"
        c["width"] = Int(FigureChart.width)
        c["height"] = Int(FigureChart.height)
        return c
    }

    static let figureUnits: [FigureKind: String] = [.reconciliationVariance: "L", .leakRate: "L/h", .meterError: "%"]
}
