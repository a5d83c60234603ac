import Foundation
import FuelFeeds
import FuelModel
import FuelSim
import FuelWire
import Logging
import NIOCore
import NIOPosix

/// A Veeder-Root TLS console over TCP for a simulated station (`fuelwarden atg-emulator`): the
/// station simulator runs from the start time, and each command is answered with the tanks as
/// they stand at that moment. Speaks `i201`/`I201` inventory, `i202` deliveries (the simulated ones finished by then, the last 10 a tank), `i205`
/// alarms (high water), answers anything else with `9999FF1B`, and checks the security code.
package struct ATGEmulator: Sendable {
    package struct Settings: Sendable {
        package var host = "127.0.0.1"
        package var port = 10001
        package var units: VeederRootTLS.Units = .metric
        package var securityCode: String?
        package var seed: UInt64 = 1
        package var days = 7.0
        /// When the simulated history starts; readings are taken at `start + (now − launch) × speed`.
        package var start = Timestamp(.now)
        package var speed = 1.0
        /// The simulated time at launch when not `start` (a console brought back later in the same history).
        package var resumeAt: Timestamp?
        /// Where the simulated time comes from instead (tests that step the console's clock).
        package var clock: (@Sendable () -> Timestamp)?
        package init() {}
    }

    let settings: Settings
    let station: Station
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void
    /// Per tank, the simulated readings in time order.
    let readings: [(tank: Int, product: Character, series: [TankReading])]
    /// Per tank id, the simulated deliveries' start and end, in time order.
    package let deliveries: [String: [(start: Timestamp, end: Timestamp)]]
    let launched = Timestamp(.now)

    package init(station: Station, settings: Settings, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.station = station
        self.settings = settings
        self.logger = logger
        self.onListening = onListening
        var scenario = StationScenario(station: station, seed: settings.seed, start: settings.start, days: settings.days, prices: DemoRegistry.prices)
        scenario.readingIntervalSeconds = 60
        var sim = StationSimulator(scenario)
        var byTank: [String: [TankReading]] = [:]
        var deliveries: [String: [(start: Timestamp, end: Timestamp)]] = [:]
        for record in sim.records() {
            switch record {
            case .tankReading(let r): byTank[r.tank, default: []].append(r)
            case .delivery(let d): deliveries[d.tank, default: []].append((d.startedAt, d.endedAt))
            default: break
            }
        }
        self.deliveries = deliveries.mapValues { $0.sorted { $0.start < $1.start } }
        readings = station.tanks.enumerated().map { i, t in
            (i + 1, t.grade.first ?? "1", byTank[t.id] ?? [])
        }
    }

    /// Simulated time now.
    func simulatedNow() -> Timestamp {
        if let clock = settings.clock { return clock() }
        return (settings.resumeAt ?? settings.start).adding(seconds: launched.seconds(to: Timestamp(.now)) * settings.speed)
    }

    func current(_ series: [TankReading], at t: Timestamp) -> TankReading? {
        var lo = 0, hi = series.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if series[mid].at <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 ? series[lo - 1] : series.first
    }

    package func run() async throws {
        let server = try await ConnectionAcceptor<ByteBuffer, ByteBuffer>.bind(host: settings.host, port: settings.port)
        let port = server.port ?? settings.port
        logger.notice("ATG emulator listening", metadata: ["address": "\(settings.host):\(port)", "station": "\(station.id)", "tanks": "\(readings.count)"])
        await onListening(port)
        await serveEachConnection(of: server) { connection in try? await serve(connection) }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var pending: [UInt8] = []
            for try await chunk in inbound {
                pending += chunk.readableBytesView
                // A command is SOH + text; it ends at a line end, or when it is complete by length.
                while let command = takeCommand(&pending) {
                    try await outbound.write(ByteBuffer(bytes: answer(command)))
                }
                if pending.count > 1024 { pending.removeAll() }
            }
        }
    }

    /// Cuts one command from the input: SOH, optional security code, 4-char function, 2-digit tank.
    func takeCommand(_ buf: inout [UInt8]) -> String? {
        guard let soh = buf.firstIndex(of: VeederRootTLS.soh) else { buf.removeAll(); return nil }
        let codeLength = settings.securityCode?.utf8.count ?? 0
        let need = soh + 1 + codeLength + 6
        if let end = buf[soh...].firstIndex(where: { $0 == 0x0D || $0 == 0x0A }), end < need {
            let text = String(decoding: buf[(soh + 1)..<end], as: UTF8.self)
            buf.removeFirst(end + 1)
            return text
        }
        guard buf.count >= need else { return nil }
        let text = String(decoding: buf[(soh + 1)..<need], as: UTF8.self)
        buf.removeFirst(need)
        return text
    }

    func answer(_ raw: String) -> [UInt8] {
        var command = Substring(raw)
        if let code = settings.securityCode {
            guard command.hasPrefix(code) else { return unknown }
            command = command.dropFirst(code.count)
        }
        guard command.count >= 6, let tankFilter = Int(command.dropFirst(4).prefix(2)) else { return unknown }
        let function = String(command.prefix(4))
        let now = simulatedNow()
        let time = consoleTime(now)
        let tanks = readings.filter { tankFilter == 0 || $0.tank == tankFilter }
        switch function {
        case "i201":
            var body = ""
            for t in tanks {
                guard let r = current(t.series, at: now) else { continue }
                let values: [Double?] = [r.volumeL, r.tcVolumeL, r.ullageL, r.heightMM, r.waterMM, r.temperatureC, 0]
                body += pad(t.tank) + String(t.product) + "0000" + "07" + values.enumerated().map { i, v in hexFloat(toConsole(v, field: i)) }.joined()
            }
            return VeederRootTLS.encodeReply(function: "i201" + pad(tankFilter), time: time, body: Array(body.utf8))
        case "i202":
            let body = tanks.map { t in deliveryReport(t, at: now) }.joined()
            return VeederRootTLS.encodeReply(function: "i202" + pad(tankFilter), time: time, body: Array(body.utf8))
        case "i205":
            let body = tanks.map { t -> String in
                let water = current(t.series, at: now)?.waterMM ?? 0
                return pad(t.tank) + (water > 50 ? "0103" : "00")
            }.joined()
            return VeederRootTLS.encodeReply(function: "i205" + pad(tankFilter), time: time, body: Array(body.utf8))
        case "I201":
            return display(tanks, at: now)
        default:
            return unknown
        }
    }

    /// One tank's part of an `i202` reply: its deliveries finished by `now` (the last 10), each with
    /// the readings at its start and end minutes (a console measures a delivery from its gauge).
    func deliveryReport(_ t: (tank: Int, product: Character, series: [TankReading]), at now: Timestamp) -> String {
        let tankID = station.tanks.indices.contains(t.tank - 1) ? station.tanks[t.tank - 1].id : ""
        let done = (deliveries[tankID] ?? []).filter { $0.end.adding(seconds: 60) <= now }.suffix(10)
        var body = pad(t.tank) + String(t.product) + pad(done.count)
        for d in done {
            // Console times are to the minute: the start minute's reading and the one after the end.
            let start = Timestamp(microseconds: d.start.microseconds - d.start.microseconds % 60_000_000)
            let endMinute = d.end.microseconds - d.end.microseconds % 60_000_000
            let end = Timestamp(microseconds: endMinute == d.end.microseconds ? endMinute : endMinute + 60_000_000)
            let a = current(t.series, at: start), b = current(t.series, at: end)
            // i202 fields and the i201 field whose unit each has: volume, TC volume, water, temperature (start, then end), heights.
            let values: [(Double?, Int)] = [(a?.volumeL, 0), (a?.tcVolumeL, 1), (a?.waterMM, 4), (a?.temperatureC, 5),
                                            (b?.volumeL, 0), (b?.tcVolumeL, 1), (b?.waterMM, 4), (b?.temperatureC, 5),
                                            (a?.heightMM, 3), (b?.heightMM, 3)]
            body += consoleTime(start) + consoleTime(end) + "0A" + values.map { hexFloat(toConsole($0.0, field: $0.1)) }.joined()
        }
        return body
    }

    var unknown: [UInt8] { [VeederRootTLS.soh] + Array("9999FF1B".utf8) + [VeederRootTLS.etx] }

    func display(_ tanks: [(tank: Int, product: Character, series: [TankReading])], at now: Timestamp) -> [UInt8] {
        var text = "\r\nI20100\r\n\(consoleTime(now))\r\n\r\n\(station.id)\r\n\r\nIN-TANK INVENTORY\r\n\r\n"
        text += "TANK PRODUCT             VOLUME TC VOLUME   ULLAGE   HEIGHT    WATER     TEMP\r\n"
        for t in tanks {
            guard let r = current(t.series, at: now) else { continue }
            let cols: [Double?] = [r.volumeL, r.tcVolumeL, r.ullageL, r.heightMM, r.waterMM, r.temperatureC]
            let fields = [0, 1, 2, 3, 4, 5].map { i in String(format: i < 3 ? "%.0f" : "%.2f", toConsole(cols[i], field: i) ?? 0) }
            text += "  \(t.tank)  GRADE \(t.product)".padding(toLength: 24, withPad: " ", startingAt: 0) + fields.joined(separator: "  ") + "\r\n"
        }
        return [VeederRootTLS.soh] + Array(text.utf8) + [VeederRootTLS.etx]
    }

    /// Converts a metric value to the console's units (field order of i201).
    func toConsole(_ v: Double?, field: Int) -> Double? {
        guard let v, settings.units == .usCustomary else { return v }
        switch field {
        case 3, 4: return v / 25.4
        case 5: return v * 9 / 5 + 32
        default: return v / 3.785411784
        }
    }

    func consoleTime(_ t: Timestamp) -> String {
        let clock = LocalClock(timezone: station.timezone)
        let day = clock.day(of: t)
        let minute = clock.minuteOfDay(t)
        return pad(day.year % 100) + pad(day.month) + pad(day.day) + pad(minute / 60) + pad(minute % 60)
    }

    func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n % 100)" }

    func hexFloat(_ v: Double?) -> String {
        guard let v else { return "FF800000" }
        let s = String(Float(v).bitPattern, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
