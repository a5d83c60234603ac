import FuelAsync
import FuelGuomi
import FuelModel
import FuelWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Settings of the HJ 212 listener (`feeds.hj212.*`).
public struct HJ212ListenerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 9212
    public var maxConnections = 2_000
    /// A connection that sends nothing for this long is closed (devices send at least every minute).
    public var idleTimeout: Duration = .seconds(300)
    /// A packet must arrive whole within this time once it started (slow senders are cut off).
    public var packetTimeout: Duration = .seconds(30)
    /// Bytes of non-packet input a connection may send before it is closed.
    public var maxJunkBytes = 64 * 1024
    public var maxDataLength = HJ212.maxDataLength
    /// SM4 keys per device kept apart from the feeds file (mode 0600); nil = the feeds file's only.
    public var keyFile: String?
    /// How long a device's previous key still decrypts after a newer one came into force.
    public var keyOverlap: Duration = .seconds(24 * 3600)
    /// A device whose key in force is older than this raises a `feed_key` warning (HJ 212-2025: keys rotate every 90 days).
    public var keyMaxAge: Duration = .seconds(90 * 86_400)
    /// Give a device a new key (CN 1014) once its key in force is this old; zero = never (the device rotates, or the operator does).
    public var keyRotateAfter: Duration = .zero
    /// A device silent this long raises `telemetry_gap` on subject `device <MN>`; a live upload this
    /// far (and three of its intervals) after the previous one leaves a gap its resends must fill.
    public var offlineAfter: Duration = .seconds(600)
    /// How often the devices' state is written and their alerts checked.
    public var deviceSweep: Duration = .seconds(30)

    public init() {}
}

/// The HJ 212 TCP listener (2017 and 2025 editions on one port): vapour-recovery monitors connect,
/// send packets and, when their Flag asks, get the standard's answer in their own edition. A 2025
/// device with an `sm4_key` in the feeds file has its encrypted CP decrypted (text or raw form). A device is known by its MN and must send its password;
/// its packets become `vapour_reading` records in its station's chain. Bad packets are answered
/// per the standard where they can be (9011 with QnRtn) and quarantined with the reason.
/// A packet is acknowledged (9014) only after its records are kept by `sink`: committed to the
/// station's chain in the cloud, fsynced to the spool in the station agent.
public struct HJ212Listener<Sink: FeedRecordSink, Book: HJ212DeviceKeeping>: Service {
    let settings: HJ212ListenerSettings
    let devices: [String: FeedsFile.HJ212Device]
    let sink: Sink
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void
    let limit: ConnectionLimit

    let book: Book

    public init(settings: HJ212ListenerSettings, devices: [FeedsFile.HJ212Device], book: Book, sink: Sink, logger: Logger,
                onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.settings = settings
        self.devices = Dictionary(devices.map { ($0.mn, $0) }, uniquingKeysWith: { a, _ in a })
        self.book = book
        self.sink = sink
        self.logger = logger
        self.onListening = onListening
        self.limit = ConnectionLimit(maximum: settings.maxConnections)
    }

    /// Listens until graceful shutdown, once the devices' stored keys are read (a key rotated by
    /// CN 1014 before a restart must decrypt the first packet after it).
    public func run() async throws {
        try await untilGracefulShutdown {
            while true {
                do {
                    try await book.load()
                    break
                } catch {
                    logger.warning("HJ 212 device keys not readable yet", metadata: ["error": "\(sink.describe(error))"])
                    try await Task.sleep(for: .seconds(2))
                }
            }
            try await listen()
        }
    }

    private func listen() async throws {
        let idle = TimeAmount(settings.idleTimeout)
        let server = try await ConnectionAcceptor<ByteBuffer, ByteBuffer>.bind(host: settings.host, port: settings.port) { channel in
            try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: idle), CloseOnIdle()])
        }
        let port = server.port ?? settings.port
        logger.notice("HJ 212 listener ready", metadata: ["address": "\(settings.host):\(port)", "devices": "\(devices.count)"])
        await onListening(port)
        await serveEachConnection(of: server) { [limit, logger] connection in
            guard limit.enter() else {
                logger.warning("HJ 212 connection refused: listener full", metadata: ["max": "\(limit.maximum)"])
                try? await connection.executeThenClose { _, _ in }
                return
            }
            defer { limit.leave() }
            await serve(connection)
        }
    }

    /// One device connection: frames in, answers out, until it closes, idles or misbehaves.
    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = connection.channel.remoteAddress?.description ?? "?"
        // When a packet started; a watchdog cuts the connection once it stays unfinished too long,
        // also when the sender goes silent half way (no data arrives to notice it otherwise).
        let partialSince = NIOLockedValueBox<(ContinuousClock.Instant, Int)?>(nil)
        let channel = connection.channel
        let packetTimeout = settings.packetTimeout
        let watchdog = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: min(packetTimeout / 4, .milliseconds(500)))
                guard let (since, pending) = partialSince.withLockedValue({ $0 }), ContinuousClock.now - since > packetTimeout else { continue }
                await sink.quarantine(station: nil, source: .hj212, raw: "(\(pending) bytes of an unfinished packet)",
                                      reason: "HJ 212 stream from \(peer): packet not completed within \(settings.packetTimeout.secondsText)")
                logger.warning("HJ 212 connection closed: packet too slow", metadata: ["peer": "\(peer)"])
                try? await channel.close()
                return
            }
        }
        defer { watchdog.cancel() }
        do {
            let opened = ContinuousClock.now
            var parts = HJ212PartAssembler()
            var known = Set<String>()  // devices heard on this connection
            // Sets of parts still incomplete when the connection ends are quarantined, not lost.
            defer {
                let abandoned = parts.expire(now: (ContinuousClock.now - opened).inSeconds, all: true)
                if !abandoned.isEmpty {
                    let sink = self.sink
                    Task { for a in abandoned { await Self.quarantine(a, sink: sink, devices: devices, peer: peer) } }
                }
            }
            try await connection.executeThenClose { inbound, outbound in
                var reader = HJ212FrameReader(maxDataLength: settings.maxDataLength)
                var junk = 0
                var packets = 0
                for try await buffer in inbound {
                    reader.append(buffer.readableBytesView)
                    while let item = reader.next() {
                        switch item {
                        case .frame(let frame):
                            packets += 1
                            let now = (ContinuousClock.now - opened).inSeconds
                            for a in parts.expire(now: now) { await Self.quarantine(a, sink: sink, devices: devices, peer: peer) }
                            if let answer = await handle(frame, number: packets, peer: peer, parts: &parts, known: &known, now: now) {
                                try await outbound.write(ByteBuffer(bytes: answer))
                            }
                        case .junk(let bytes, let reason):
                            junk += bytes.count
                            await sink.quarantine(station: nil, source: .hj212, raw: PrintableBytes.text(bytes),
                                                  reason: "HJ 212 stream from \(peer): \(reason)")
                            if junk > settings.maxJunkBytes {
                                logger.warning("HJ 212 connection closed: too much garbage", metadata: ["peer": "\(peer)", "bytes": "\(junk)"])
                                return
                            }
                        }
                    }
                    let pending = reader.pending
                    partialSince.withLockedValue { p in
                        if pending == 0 { p = nil } else { p = (p?.0 ?? ContinuousClock.now, pending) }
                    }
                }
            }
        } catch {
            logger.debug("HJ 212 connection ended", metadata: ["peer": "\(peer)", "error": "\(error)"])
        }
    }

    static func quarantine(_ a: HJ212PartAssembler.Abandoned, sink: Sink, devices: [String: FeedsFile.HJ212Device], peer: String) async {
        await sink.quarantine(station: devices[a.mn]?.station, source: .hj212, raw: a.raw, reason: "HJ 212 packets from \(peer) (MN \(a.mn)): \(a.reason)")
    }

    /// Decodes, authenticates and records one packet (the whole set once its last part arrives, for
    /// a packet split into parts); returns the answer to send, if any.
    func handle(_ frame: [UInt8], number: Int, peer: String, parts: inout HJ212PartAssembler, known: inout Set<String>,
                now: Double) async -> [UInt8]? {
        var raw = PrintableBytes.text(frame)
        var packet: HJ212.Packet
        var usedKey: [UInt8]?
        do {
            // A 2025 device with a key sends its data's CP encrypted (SM4-ECB, HJ 212-2025 §6.4); a
            // wrong key shows as a CRC mismatch, since the CRC is over the plaintext. During a key
            // change the previous key (within its overlap) and a key on offer are tried after the
            // one in force.
            var attempt = 0
            var keys: [[UInt8]] = []
            while true {
                do {
                    packet = try HJ212.decode(frame, decryptBlocksFor: { mn in
                        if attempt == 0 { keys = book.usableKeys(mn) }
                        guard attempt < keys.count, let cipher = try? SM4(key: keys[attempt]) else { return nil }
                        usedKey = keys[attempt]
                        return { try cipher.decryptBlocks($0) }
                    })
                    break
                } catch where error.kind == .crc && attempt + 1 < keys.count {
                    attempt += 1
                    usedKey = nil
                }
            }
        } catch {
            let h = HJ212.bestEffortHeader(frame)
            let device = h.mn.flatMap { devices[$0] }
            await sink.quarantine(station: device?.station, source: .hj212, raw: raw, reason: "HJ 212 packet from \(peer): \(error)", line: number)
            guard h.wantsReply, h.qn != nil else { return nil }
            return HJ212.refusal(qn: h.qn, mn: h.mn, password: h.password, answer: error.kind == .crc ? .wrongCRC : .rejected, version: h.version)
        }
        guard let mn = packet.mn, let device = devices[mn] else {
            await sink.quarantine(station: nil, source: .hj212, raw: raw,
                                  reason: "HJ 212 packet from \(peer): MN \(packet.mn ?? "") is not a registered device", line: number)
            return packet.wantsReply ? HJ212.refusal(qn: packet.qn, mn: packet.mn, password: packet.password, answer: .unknownMN, version: packet.version) : nil
        }
        guard constantTimeEqual(packet.password ?? "", device.password) else {
            await sink.quarantine(station: device.station, source: .hj212, raw: raw,
                                  reason: "HJ 212 packet from \(peer): wrong password for MN \(mn)", line: number)
            return packet.wantsReply ? HJ212.refusal(qn: packet.qn, mn: mn, password: packet.password, answer: .wrongPassword, version: packet.version) : nil
        }
        if known.insert(mn).inserted { await book.connected(mn) }
        if let usedKey { await book.used(usedKey, by: mn) }
        let resent = packet.field("RF") == "1"
        switch packet.cn {
        case "9011", "9012":
            // The device answers a command of ours (CN 1014: its new key).
            book.heard(mn, station: device.station, edition: packet.version, upload: nil)
            await book.answered(packet)
            return nil
        case "1014":
            return await keyAnnouncement(packet, raw: raw, device: device, peer: peer, number: number)
        default:
            break
        }
        // A part of a split packet waits for the others; the set is recorded, and answered, whole.
        switch parts.add(packet, raw: raw, now: now) {
        case .whole(let whole, let wholeRaw):
            (packet, raw) = (whole, wholeRaw)
        case .waiting:
            return nil
        case .refused(let reason):
            await sink.quarantine(station: device.station, source: .hj212, raw: raw, reason: "HJ 212 packet from \(peer): \(reason)", line: number)
            return packet.wantsReply ? HJ212.refusal(qn: packet.qn, mn: mn, password: packet.password, answer: .rejected, version: packet.version) : nil
        }
        do {
            guard let clock = try await sink.clock(station: device.station) else {
                await sink.quarantine(station: nil, source: .hj212, raw: raw,
                                      reason: "HJ 212 device \(mn) belongs to station \(device.station), which is not in the registry", line: number)
                return packet.wantsReply ? HJ212.refusal(qn: packet.qn, mn: mn, password: packet.password, answer: .rejected, version: packet.version) : nil
            }
            let readings: [VapourReading]
            do {
                readings = try HJ212.vapourReadings(packet, device: mn, map: device.factors, clock: clock)
            } catch {
                await sink.quarantine(station: device.station, source: .hj212, raw: raw,
                                      reason: "HJ 212 packet QN=\(packet.qn ?? "-") from \(mn): \(error)", line: number)
                return packet.wantsReply ? HJ212.refusal(qn: packet.qn, mn: mn, password: packet.password, answer: .rejected, version: packet.version) : nil
            }
            if readings.isEmpty {
                // A heartbeat (CN 9015) or an empty keep-alive keeps the device's station online.
                try await sink.heartbeat(station: device.station)
                book.heard(mn, station: device.station, edition: packet.version, upload: nil)
            } else {
                // The data itself identifies a record: a device re-sending a packet (same data time) is a duplicate.
                let base = "\(mn)/\(packet.cn ?? "")/\(packet.dataTime ?? "")/\(packet.packetNumber ?? 1)"
                let records = readings.enumerated().map { i, r in
                    CollectedRecord(key: "\(base)/\(i)", line: number, raw: raw, record: .vapourReading(r))
                }
                try await sink.deliver(station: device.station, source: .hj212, records, rejected: [])
                let at = readings.map(\.at).max()!
                book.heard(mn, station: device.station, edition: packet.version, upload: (packet.cn ?? "", at, resent))
            }
            let answer = packet.wantsReply ? HJ212.reply(to: packet) : []
            let command = await keyOfferIfDue(mn: mn, device: device, version: packet.version)
            return answer.isEmpty && command.isEmpty ? nil : answer + command
        } catch {
            // Nothing committed: no answer, so the device sends the packet again.
            logger.warning("HJ 212 packet not recorded", metadata: [
                "mn": "\(mn)", "qn": "\(packet.qn ?? "-")", "error": "\(sink.describe(error))",
            ])
            return nil
        }
    }
    /// CN 1014 from the device: the key it will encrypt with from now on, in CP encrypted under
    /// the key in force. Stored before it is answered (9011 ready, then 9012 with ExeRtn=1).
    func keyAnnouncement(_ packet: HJ212.Packet, raw: String, device: FeedsFile.HJ212Device, peer: String, number: Int) async -> [UInt8]? {
        let mn = device.mn
        book.heard(mn, station: device.station, edition: packet.version, upload: nil)
        let key: [UInt8]
        do {
            key = try HJ212.announcedKey(in: packet)
        } catch {
            // The raw packet may hold a key in the clear (a 2017-flagged device): keep only the header.
            await sink.quarantine(station: device.station, source: .hj212, raw: "QN=\(packet.qn ?? "-");CN=1014;MN=\(mn) (content withheld: key material)",
                                  reason: "HJ 212 packet from \(peer): \(error)", line: number)
            return packet.wantsReply ? HJ212.refusal(qn: packet.qn, mn: mn, password: packet.password, answer: .rejected, version: packet.version) : nil
        }
        let stored = await book.adopt(key, for: mn, origin: .device, reason: "announced by the device (CN 1014)")
        guard packet.wantsReply else { return nil }
        guard stored else { return nil }  // not stored: no answer, so the device sends it again
        return HJ212.reply(to: packet) + HJ212.executionResult(to: packet, succeeded: true)
    }

    /// The CN 1014 command giving the device its next key, when its key is due
    /// (`feeds.hj212.key_rotate_after_days`): encrypted under the key in force, sent after the answer.
    func keyOfferIfDue(mn: String, device: FeedsFile.HJ212Device, version: HJ212.Version) async -> [UInt8] {
        guard version == .v2025, settings.keyRotateAfter > .zero, let current = book.currentKey(mn), let cipher = try? SM4(key: current),
              let offer = await book.offerIfDue(mn) else { return [] }
        let segment = HJ212.keyCommand(qn: offer.qn, mn: mn, password: device.password, newKey: offer.key)
        return (try? HJ212.frame(dataSegment: segment, encryptBlocks: { try cipher.encryptBlocks($0) })) ?? []
    }
}

/// Compares secrets without an early exit, so timing does not reveal how much of a guess was right.
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
    return diff == 0
}
