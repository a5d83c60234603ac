import FuelAsync
import FuelModel
import FuelWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Settings of the ATG poller (`feeds.atg.*`).
public struct ATGPollerSettings: Sendable {
    /// Connect and answer deadline of one command.
    public var timeout: Duration = .seconds(10)
    /// Consecutive failed polls before the console is recorded offline (a telemetry-gap alert).
    public var offlineAfterFailures = 3
    /// Longest wait between retries of a failing console.
    public var maxBackoff: Duration = .seconds(300)
    /// A console clock further than this from ours is not trusted: readings take the poll time.
    public var maxClockSkew: Duration = .seconds(300)

    public init() {}
}

/// Polls Veeder-Root TLS consoles (and compatibles) over TCP: in-tank inventory (`i201`, or the
/// display-format `I201`) and tank alarms (`i205`) every interval, appended to the station's chain
/// as `tank_reading` and `device_status` records. Each console runs in its own task, so one that
/// hangs or fails never delays another; a failing console is retried with backoff and, after
/// `offlineAfterFailures` polls, recorded offline, which raises a telemetry-gap alert that clears
/// when it answers again. After polls that failed or whose readings were not taken (the agent's
/// spool at its ceiling), the console's own delivery history (`i202`) is read before the next
/// inventory, so deliveries made meanwhile still enter the chain: each one's start and end, as the
/// console measured them, become tank readings at those times.
public struct ATGPoller<Sink: FeedRecordSink>: Service {
    let consoles: [FeedsFile.ATGConsole]
    let settings: ATGPollerSettings
    let sink: Sink
    let logger: Logger

    public init(consoles: [FeedsFile.ATGConsole], settings: ATGPollerSettings, sink: Sink, logger: Logger) {
        self.consoles = consoles
        self.settings = settings
        self.sink = sink
        self.logger = logger
    }

    /// Polls every console, each in its own task, until graceful shutdown.
    public func run() async throws {
        logger.notice("ATG poller started", metadata: ["consoles": "\(consoles.count)"])
        try await untilGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for console in consoles { group.addTask { await poll(console) } }
            }
        }
    }

    /// What a console answered in one poll.
    struct Poll {
        var consoleTime: VeederRootTLS.ConsoleTime?
        var inventory: [VeederRootTLS.Inventory]
        var alarms: [VeederRootTLS.TankAlarms]?
        var raw: String
    }

    /// The loop of one console until cancellation.
    func poll(_ console: FeedsFile.ATGConsole) async {
        var failures = 0
        var offline = false
        var alarmsSupported = console.format == .computer
        var lastAlarms: [String]?
        // Data time of the newest readings taken, and whether polls were missed since: what the
        // next good poll asks the console's delivery history for. Where the sink kept it from an
        // earlier run (the station agent's spool), a restart counts as missed polls.
        var lastTaken = await sink.resumePoint(console: console.name)
        var missed = lastTaken != nil
        let log = logger.with(["console": "\(console.name)", "station": "\(console.station)"])
        while !Task.isCancelled {
            let delay: Duration
            do {
                let answer = try await query(console, alarms: alarmsSupported)
                if answer.alarms == nil { alarmsSupported = false }
                let now = Timestamp(.now)
                var (records, noVolume) = try await readings(answer, console: console, now: now)
                let taken = records.compactMap { r -> Timestamp? in
                    if case .tankReading(let t) = r.record { return t.at }
                    return nil
                }.max()
                if missed, let since = lastTaken, let upTo = taken {
                    records = await missedDeliveries(console, after: since, upTo: upTo, log: log) + records
                }
                let codes = (answer.alarms ?? []).flatMap { a in a.codes.map { "T\(a.tank):\($0)" } }
                if offline || (answer.alarms != nil && codes != (lastAlarms ?? [])) {
                    let names = (answer.alarms ?? []).flatMap { a in a.names.map { "\(console.tankID(a.tank)) \($0)" } }
                    let status = DeviceStatus(device: console.name, at: now, state: codes.isEmpty ? .online : .alarm, codes: names)
                    records.append(CollectedRecord(key: "\(console.name)/status/\(now.rfc3339)", raw: answer.raw, record: .deviceStatus(status)))
                }
                try await sink.deliver(station: console.station, source: .atg, records, rejected: noVolume)
                if answer.alarms != nil { lastAlarms = codes }
                if offline { log.notice("console answers again") }
                // The resume point is written only when it moves (at the station it is a spool write).
                if let taken, lastTaken.map({ taken > $0 }) ?? true {
                    lastTaken = taken
                    await sink.noteTaken(console: console.name, at: taken)
                }
                missed = false
                failures = 0
                offline = false
                delay = .seconds(console.intervalSeconds)
            } catch {
                failures += 1
                missed = true
                log.warning("ATG poll failed", metadata: ["failures": "\(failures)", "error": "\(sink.describe(error))"])
                if failures >= settings.offlineAfterFailures, !offline {
                    let now = Timestamp(.now)
                    let status = DeviceStatus(device: console.name, at: now, state: .offline, codes: ["\(error)".prefix(200).description])
                    do {
                        try await sink.deliver(station: console.station, source: .atg,
                                               [CollectedRecord(key: "\(console.name)/status/\(now.rfc3339)", raw: "", record: .deviceStatus(status))], rejected: [])
                        offline = true
                    } catch {
                        log.warning("could not record the console offline", metadata: ["error": "\(sink.describe(error))"])
                    }
                }
                // Retry at the interval, then back off by doubling up to maxBackoff.
                let backoff = Backoff(base: .seconds(console.intervalSeconds), cap: max(settings.maxBackoff, .seconds(console.intervalSeconds)))
                delay = backoff.delay(afterFailures: failures)
            }
            try? await Task.sleep(for: delay)
        }
    }

    /// Tank readings of one poll, keyed by console, tank and reading time; tanks the console reports
    /// without a volume (FF800000) are refused with that reason.
    func readings(_ p: Poll, console: FeedsFile.ATGConsole, now: Timestamp) async throws -> ([CollectedRecord], [RejectedInput]) {
        guard let clock = try await sink.clock(station: console.station) else {
            throw FeedError("station \(console.station) of console \(console.name) is not in the registry")
        }
        var at = now
        if let ct = p.consoleTime {
            let t = ct.instant(in: clock)
            if abs(t.seconds(to: now)) <= settings.maxClockSkew.inSeconds { at = t }
        }
        var records: [CollectedRecord] = []
        var refused: [RejectedInput] = []
        for inv in p.inventory {
            let tank = console.tankID(inv.tank)
            guard let volume = inv.volumeL else {
                refused.append(RejectedInput(line: 0, raw: p.raw, seq: nil,
                                             reason: "console \(console.name) tank \(inv.tank) (\(tank)): no volume in the reply (FF800000)"))
                continue
            }
            let reading = TankReading(
                tank: tank, at: at, volumeL: volume, tcVolumeL: inv.tcVolumeL, heightMM: inv.heightMM,
                ullageL: inv.ullageL, waterMM: inv.waterMM, temperatureC: inv.temperatureC, status: Int(inv.status))
            records.append(CollectedRecord(key: "\(console.name)/\(tank)/\(at.rfc3339)", raw: p.raw, record: .tankReading(reading)))
        }
        return (records, refused)
    }

    /// Deliveries the console finished measuring after `since` (`i202`, computer format only), as
    /// tank readings at each delivery's start and end up to `upTo`. Best effort: a console that
    /// does not know `i202`, fails to answer or whose clock is not trusted gives none (logged).
    func missedDeliveries(_ console: FeedsFile.ATGConsole, after since: Timestamp, upTo: Timestamp, log: Logger) async -> [CollectedRecord] {
        guard console.format == .computer else { return [] }
        do {
            guard let clock = try await sink.clock(station: console.station) else { return [] }
            let reply = try await exchange(console, command: VeederRootTLS.command("i202", tank: 0, securityCode: console.securityCode))
            guard case .data(_, let time, let body) = try VeederRootTLS.decodeReply(reply) else {
                log.info("console does not know i202: deliveries made while polls were missed are seen from the readings only")
                return []
            }
            let now = Timestamp(.now)
            guard let t = VeederRootTLS.ConsoleTime(time)?.instant(in: clock), abs(t.seconds(to: now)) <= settings.maxClockSkew.inSeconds else {
                log.warning("console clock not trusted: its delivery history (i202) is not used")
                return []
            }
            let deliveries = try VeederRootTLS.parseDeliveries(body, units: console.units)
            return Self.deliveryReadings(deliveries, console: console, clock: clock, after: since, upTo: upTo,
                                         raw: PrintableBytes.text(reply, limit: 4096))
        } catch {
            log.warning("console delivery history (i202) not read", metadata: ["error": "\(sink.describe(error))"])
            return []
        }
    }

    /// Each delivery's start and end as tank readings, in time order: those after `since` and
    /// before `upTo` (a delivery that began before `since` gives its end only), keyed by console,
    /// tank, delivery start and edge so a history read again adds nothing twice.
    package static func deliveryReadings(_ deliveries: [VeederRootTLS.GaugedDelivery], console: FeedsFile.ATGConsole, clock: LocalClock,
                                 after since: Timestamp, upTo: Timestamp, raw: String) -> [CollectedRecord] {
        var out: [CollectedRecord] = []
        for d in deliveries {
            let tank = console.tankID(d.tank)
            let started = d.start.instant(in: clock)
            let edges = [
                ("start", started, d.startVolumeL, d.startTCVolumeL, d.startHeightMM, d.startWaterMM, d.startTemperatureC),
                ("end", d.end.instant(in: clock), d.endVolumeL, d.endTCVolumeL, d.endHeightMM, d.endWaterMM, d.endTemperatureC),
            ]
            for (edge, at, volume, tc, height, water, temperature) in edges {
                guard at > since, at < upTo, let volume else { continue }
                let reading = TankReading(tank: tank, at: at, volumeL: volume, tcVolumeL: tc, heightMM: height, ullageL: nil,
                                          waterMM: water, temperatureC: temperature, status: nil)
                out.append(CollectedRecord(key: "\(console.name)/\(tank)/i202/\(started.rfc3339)/\(edge)", raw: raw, record: .tankReading(reading)))
            }
        }
        return out.sorted { a, b in
            guard case .tankReading(let x) = a.record, case .tankReading(let y) = b.record else { return false }
            return x.at < y.at
        }
    }

    /// One poll: the inventory, then (computer format) the alarms.
    func query(_ console: FeedsFile.ATGConsole, alarms: Bool) async throws -> Poll {
        switch console.format {
        case .computer:
            let reply = try await exchange(console, command: VeederRootTLS.command("i201", tank: 0, securityCode: console.securityCode))
            guard case .data(_, let time, let body) = try VeederRootTLS.decodeReply(reply) else {
                throw FeedError("console \(console.name) does not know i201 (answered 9999FF1B)")
            }
            var poll = Poll(consoleTime: VeederRootTLS.ConsoleTime(time), inventory: try VeederRootTLS.parseInventory(body, units: console.units),
                            alarms: nil, raw: PrintableBytes.text(reply, limit: 4096))
            if alarms {
                let a = try await exchange(console, command: VeederRootTLS.command("i205", tank: 0, securityCode: console.securityCode))
                if case .data(_, _, let body) = try VeederRootTLS.decodeReply(a) { poll.alarms = try VeederRootTLS.parseTankAlarms(body) }
            }
            return poll
        case .display:
            let reply = try await exchange(console, command: VeederRootTLS.command("I201", tank: 0, securityCode: console.securityCode))
            if (try? VeederRootTLS.decodeReply(reply)) == .unknownCommand {
                throw FeedError("console \(console.name) does not know I201 (answered 9999FF1B)")
            }
            let (_, lines) = try VeederRootTLS.decodeDisplayReply(reply)
            return Poll(consoleTime: nil, inventory: try VeederRootTLS.parseDisplayInventory(lines, units: console.units),
                        alarms: nil, raw: PrintableBytes.text(reply, limit: 4096))
        }
    }

    /// Connects, sends one command and reads one reply (SOH … ETX), within the timeout.
    func exchange(_ console: FeedsFile.ATGConsole, command: [UInt8]) async throws -> [UInt8] {
        // The idle handler closes a silent connection; the deadline also bounds a console that
        // trickles bytes or a connect that never completes.
        // The inner deadline is the one that keeps an unfinished reply in quarantine; this one is the backstop.
        try await withTimeLimit(settings.timeout + .milliseconds(1500),
                                timeoutError: FeedError("console \(console.name) answer took longer than \((settings.timeout + .milliseconds(1500)).inSeconds) s")) {
            try await exchangeOnce(console, command: command)
        }
    }

    func exchangeOnce(_ console: FeedsFile.ATGConsole, command: [UInt8]) async throws -> [UInt8] {
        let timeout = TimeAmount(settings.timeout)
        let deadline = ContinuousClock.now + settings.timeout
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .connect(host: console.host, port: console.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: timeout), CloseOnIdle()])
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: command))
            var reader = TLSFrameReader()
            for try await chunk in inbound {
                reader.append(chunk.readableBytesView)
                while let item = reader.next() {
                    switch item {
                    case .frame(let f): return f
                    case .junk(let bytes, let reason):
                        await sink.quarantine(station: console.station, source: .atg, raw: PrintableBytes.text(bytes),
                                              reason: "console \(console.name): \(reason)", line: 0)
                    }
                }
                if ContinuousClock.now > deadline {
                    let message = "console \(console.name) did not finish its reply within \(settings.timeout.secondsText)"
                    await keepUnfinished(&reader, console: console, reason: message)
                    throw FeedError(message)
                }
            }
            let message = "console \(console.name) closed the connection or stayed silent for \(settings.timeout.secondsText)"
            await keepUnfinished(&reader, console: console, reason: message)
            throw FeedError(message)
        }
    }
}

extension ATGPoller {
    /// Quarantines what a console sent without finishing a reply (garbage without SOH, a reply cut short).
    func keepUnfinished(_ reader: inout TLSFrameReader, console: FeedsFile.ATGConsole, reason: String) async {
        let bytes = reader.takePending()
        guard !bytes.isEmpty else { return }
        await sink.quarantine(station: console.station, source: .atg, raw: PrintableBytes.text(bytes, limit: 4096),
                              reason: "\(reason): \(bytes.count) bytes without a complete SOH … ETX reply", line: 0)
    }
}

extension Logger {
    /// This logger with `metadata` added.
    public func with(_ metadata: Logger.Metadata) -> Logger {
        var l = self
        for (k, v) in metadata { l[metadataKey: k] = v }
        return l
    }
}
