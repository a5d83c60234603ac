import AsyncAlgorithms
import AsyncHTTPClient
import Foundation
import FuelLab
import FuelAsync
import FuelClient
import FuelModel
import FuelSim
import FuelStore
import FuelWire
import NIOCore
import NIOPosix

extension FaultTest {
    struct OversizedTally: Sendable { var sent = 0, tooLarge = 0 }

    /// Bodies half again over the limit, alternately with Content-Length and streamed without it.
    static func pushOversized(client: FuelwardenClient, http: HTTPClient, station: String, key: String, bytes: Int,
                              until stop: CollectorFleet.Control) async -> OversizedTally {
        var t = OversizedTally()
        let line = Array((SyntheticLines(start: Timestamp(.now)).line(seq: 1) + "\n").utf8)
        let body = Array(Array(repeating: line, count: bytes / line.count + 1).joined().prefix(bytes))
        while !stop.isDraining {
            t.sent += 1
            var req = HTTPClientRequest(url: client.baseURL + "/v1/stations/\(station)/records")
            req.method = .POST
            req.headers.add(name: "Authorization", value: "Bearer \(key)")
            req.headers.add(name: "Content-Type", value: "application/x-ndjson")
            if t.sent % 2 == 0 {
                req.body = .bytes(ByteBuffer(bytes: body))
            } else {
                let chunks = stride(from: 0, to: body.count, by: 64 * 1024).map { ByteBuffer(bytes: body[$0..<min(body.count, $0 + 64 * 1024)]) }
                req.body = .stream(chunks.async, length: .unknown)
            }
            if let res = try? await http.execute(req, timeout: .seconds(30)) {
                let text = String(buffer: (try? await res.body.collect(upTo: 1 << 20)) ?? ByteBuffer())
                if res.status.code == 413, text.contains("over the limit") { t.tooLarge += 1 }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return t
    }

    struct RefusalTally: Sendable { var sent = 0, refused = 0 }

    /// Pushes with no key, a made-up key and another station's key.
    static func pushUnauthenticated(client: FuelwardenClient, station: String, key foreignKey: String,
                                    until stop: CollectorFleet.Control) async -> RefusalTally {
        var t = RefusalTally()
        let body = SyntheticLines(start: Timestamp(.now).adding(seconds: -3_600)).line(seq: 1) + "\n"
        while !stop.isDraining {
            for token in [nil, "fw_not_a_real_key", foreignKey] {
                t.sent += 1
                if let r = try? await client.exchange(.POST, "/v1/stations/\(station)/records", token: token, body: body,
                                                      contentType: "application/x-ndjson", timeoutSeconds: 30),
                   r.status == 401 || r.status == 403 { t.refused += 1 }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return t
    }

    struct SlowTally: Sendable { var headers: [SlowSender.Outcome] = [], bodies: [SlowSender.Outcome] = [] }

    /// `connections` connections trickling request headers and a fifth as many trickling a declared
    /// body, one byte at a time.
    static func slowloris(port: Int, station: String, key: String, connections: Int) async -> SlowTally {
        let head = Array("POST /v1/stations/\(station)/records HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8)
        let bodyHead = Array("POST /v1/stations/\(station)/records HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n".utf8)
        return await withTaskGroup(of: (Bool, SlowSender.Outcome).self) { group in
            for i in 0..<(connections + connections / 5) {
                let isBody = i >= connections
                let sender = isBody
                    ? SlowSender(port: port, head: bodyHead, trickle: Array(repeating: UInt8(ascii: "{"), count: 1000), interval: .milliseconds(500), limit: .seconds(20))
                    : SlowSender(port: port, head: head, trickle: Array("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8), interval: .seconds(1), limit: .seconds(20))
                group.addTask { (isBody, await sender.run()) }
            }
            var t = SlowTally()
            for await (isBody, o) in group { if isBody { t.bodies.append(o) } else { t.headers.append(o) } }
            return t
        }
    }

    struct HJ212Tally: Sendable {
        var sent = 0, answered = 0
        /// Data times (epoch seconds) of the packets answered 9014.
        var acknowledged: [Int64] = []
    }

    /// One honest device: a minute packet every 300 ms (data times a minute apart, two readings
    /// each), each answered 9014. A packet without an answer is sent again, as a device does.
    static func honestHJ212(port: Int, mn: String, password: String, until stop: CollectorFleet.Control) async -> HJ212Tally {
        var t = HJ212Tally()
        let clock = LocalClock(timezone: "Asia/Shanghai")
        let start = Timestamp(Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 3 * 86_400))
        var next = 0
        while !stop.isDraining {
            let at = start.adding(seconds: Double(next) * 60)
            let day = clock.day(of: at), minute = clock.minuteOfDay(at)
            let dt = String(format: "%04d%02d%02d%02d%02d00", day.year, day.month, day.day, minute / 60, minute % 60)
            let frame = HJ212.frame(dataSegment: "QN=\(dt)000;ST=31;CN=2051;PW=\(password);MN=\(mn);Flag=5;CP=&&DataTime=\(dt);q01-Rtd=1.05,q01-Flag=N;p01-Rtd=-80,p01-Flag=N&&")
            t.sent += 1
            if let answers = try? await HJ212Client(port: port).send(frame, answers: 1, seconds: 10), answers.first?.cn == "9014" {
                t.answered += 1
                t.acknowledged.append(Int64(at.date.timeIntervalSince1970))
                next += 1
            }
            try? await Task.sleep(for: .milliseconds(300))
        }
        return t
    }

    struct HostileHJ212Tally: Sendable {
        var items = 0, connections = 0, refusals = 0, unclosed = 0
        /// Kinds whose connection the listener left open, and kinds that got no refusal.
        var open: Set<String> = [], unanswered: Set<String> = []
    }

    /// Bad input on the HJ 212 listener, a connection each: 80 KiB of garbage, a packet with a bad CRC,
    /// a packet from an unknown MN, a length field that is not a number, a 9,999-byte packet of junk,
    /// and a packet that stalls half way (cut off by the packet timeout).
    static func hostileHJ212(port: Int, mn: String, until stop: CollectorFleet.Control) async -> HostileHJ212Tally {
        var t = HostileHJ212Tally()
        var rng = SeededRandom(seed: 212)
        var kind = 0
        while !stop.isDraining {
            let good = HJ212.frame(dataSegment: "QN=20261121120000000;ST=31;CN=2051;PW=000000;MN=\(kind % 2 == 0 ? "99999999999999" : mn);Flag=5;CP=&&DataTime=20261121120000;q01-Rtd=1.0&&")
            var bytes: [UInt8]
            var expectClose = true
            var expectAnswer = false
            var waitSeconds = 10.0
            switch kind % 6 {
            case 0: bytes = (0..<(80 * 1024)).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 26) }
            case 1:
                bytes = good
                bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                expectClose = false
                expectAnswer = true
            case 2: bytes = good; expectClose = false; expectAnswer = true  // unknown MN (kind is even)
            case 3: bytes = Array("##12x4QN=1;ST=31\r\n".utf8) + Array(repeating: UInt8(ascii: "z"), count: 70 * 1024)
            case 4: bytes = Array("##9999".utf8) + Array(repeating: UInt8(ascii: "q"), count: 9_999 + 4) + [0x0D, 0x0A]; expectClose = false
                waitSeconds = 1  // no answer is due (no QN to answer to): hang up after a second
            default: bytes = Array(good.prefix(good.count / 2))
            }
            kind += 1
            t.items += 1
            t.connections += 1
            let name = ["garbage", "bad CRC", "unknown MN", "bad length field", "9,999 bytes of junk", "stalled packet"][(kind - 1) % 6]
            let outcome = await Self.rawExchange(port: port, bytes: bytes, waitForClose: expectClose, seconds: waitSeconds)
            if expectAnswer, outcome.answer.contains("CN=9011") || outcome.answer.contains("QnRtn") { t.refusals += 1 }
            if expectClose, !outcome.closed { t.unclosed += 1; t.open.insert(name) }
            if expectAnswer, !(outcome.answer.contains("CN=9011") || outcome.answer.contains("QnRtn")) { t.unanswered.insert(name) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return t
    }

    /// Sends bytes on a fresh connection; reads until the server closes (or the first answer line
    /// when not waiting for a close), within `seconds`.
    static func rawExchange(port: Int, bytes: [UInt8], waitForClose: Bool, seconds: Double) async -> (answer: String, closed: Bool) {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { ch in
                    ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: bytes))
                return try await withTimeLimit(.seconds(seconds), timeoutError: CancellationError()) {
                    var text = ""
                    for try await chunk in inbound {
                        text += String(buffer: chunk)
                        if !waitForClose, text.contains("\r\n") { return (text, false) }
                    }
                    return (text, true)
                }
            }
        } catch is CancellationError {
            return ("", false)
        } catch {
            return ("", true)
        }
    }
}
