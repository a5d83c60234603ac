import FuelGuomi
import FuelModel
import FuelWire

/// Drives the wire decoders with mutated inputs and checks what must hold for any input:
/// no crash (the process would die), and what decodes is consistent (a decoded HJ 212 packet
/// re-framed decodes the same; frame readers never invent bytes; a decoded push line encodes
/// and decodes to the same record).
package struct WireFuzzer: Sendable {
    package enum Target: String, CaseIterable, Sendable {
        case hj212, tls, push
    }

    /// What a run found.
    package struct Report: Sendable {
        package var iterations = 0
        /// Inputs a decoder accepted (the rest were rejected with an error, as they should be).
        package var accepted = 0
        /// Broken invariants: iteration and description (empty when all held).
        package var violations: [(iteration: Int, message: String)] = []
    }

    package let target: Target
    package let seed: UInt64

    package init(target: Target, seed: UInt64) {
        self.target = target
        self.seed = seed
    }

    /// The input of one iteration, reproducible from (seed, iteration).
    package func input(_ iteration: Int) -> [UInt8] {
        var m = ByteMutator(seed: seed &* 1_000_003 &+ UInt64(iteration))
        let corpus = WireCorpus.inputs(target)
        let base = corpus[m.int(corpus.count)]
        let other = corpus[m.int(corpus.count)]
        // Half the time the mutation goes inside a valid frame (length, CRC, checksum recomputed),
        // so the parsers behind the integrity checks get hostile input too.
        guard m.int(2) == 0 else { return m.mutate(base, steps: 1 + m.int(8), other: other) }
        switch target {
        case .hj212 where base.count > 12:
            let data = m.mutate(Array(base[6..<(base.count - 6)]), steps: 1 + m.int(8))
            return HJ212.frame(dataSegment: String(decoding: data, as: UTF8.self))
        case .tls where base.count > 24 && base[1] == UInt8(ascii: "i"):
            let body = m.mutate(Array(base[17..<(base.count - 7)]), steps: 1 + m.int(8))
            return VeederRootTLS.encodeReply(function: String(decoding: base[1..<7], as: UTF8.self),
                                             time: String(decoding: base[7..<17], as: UTF8.self), body: body)
        default:
            return m.mutate(base, steps: 1 + m.int(8), other: other)
        }
    }

    /// Runs `count` iterations from `start`; `progress` is called every `every` iterations.
    package func run(start: Int = 0, count: Int, every: Int = 100_000, progress: (Report) -> Void = { _ in }) -> Report {
        var report = Report()
        for i in start..<(start + count) {
            let bytes = input(i)
            do {
                if try check(bytes) { report.accepted += 1 }
            } catch {
                report.violations.append((i, error.message))
            }
            report.iterations += 1
            if report.iterations % every == 0 { progress(report) }
        }
        return report
    }

    struct Violation: Error { var message: String }

    /// A framer may drop separators but never invents bytes.
    func conserves(_ reader: inout some ByteStreamFramer, _ b: [UInt8]) throws(Violation) {
        let out = reader.feed(b).reduce(0) { $0 + $1.bytes.count } + reader.pending
        guard out <= b.count else { throw Violation(message: "frame reader produced \(out) bytes from \(b.count)") }
    }

    /// Runs the target's decoders on one input; true when it was accepted.
    func check(_ b: [UInt8]) throws(Violation) -> Bool {
        switch target {
        case .hj212:
            var reader = HJ212FrameReader()
            try conserves(&reader, b)
            _ = HJ212.bestEffortHeader(b)
            // The corpus's 2025 device encrypts: decrypted with its key, a packet framed again the way
            // the device frames it must decode to the same packet.
            let sm4 = try? SM4(key: WireCorpus.fuzzKey)
            let keyFor: (String) -> (([UInt8]) throws -> [UInt8])? = { mn in
                guard mn == WireCorpus.fuzzMN, let sm4 else { return nil }
                return { try sm4.decryptBlocks($0) }
            }
            if HJ212.bestEffortHeader(b).version == .v2025, let p = try? HJ212.decode(b, decryptBlocksFor: keyFor), let sm4,
               p.mn == WireCorpus.fuzzMN, p.cn.flatMap({ Int($0) }).map(HJ212.carriesEncryptedCP) == true {
                let segment = p.dataSegment
                guard let again = try? HJ212.decode(try HJ212.frame(dataSegment: segment, encryptBlocks: sm4.encryptBlocks), decryptBlocksFor: keyFor),
                      again == p else {
                    throw Violation(message: "encrypted packet does not decode the same after re-encrypting")
                }
                _ = HJ212.reply(to: p)
                return true
            }
            guard let p = try? HJ212.decode(b) else { return false }
            let data = String(decoding: b.dropFirst(6).dropLast(b.last == 0x0A ? 6 : 4), as: UTF8.self)
            guard let again = try? HJ212.decode(HJ212.frame(dataSegment: data)), again == p else {
                throw Violation(message: "packet does not decode the same after re-framing")
            }
            _ = try? HJ212.vapourReadings(p, device: "fuzz", map: HJ212FactorMap(alRatio: ["q01": "N1"], tankPressure: ["p01": "T1"]),
                                          clock: LocalClock(timezone: "Asia/Shanghai"))
            _ = HJ212.reply(to: p)
            return true
        case .tls:
            var reader = TLSFrameReader(maxFrame: 4096)
            try conserves(&reader, b)
            if let (_, lines) = try? VeederRootTLS.decodeDisplayReply(b) {
                return (try? VeederRootTLS.parseDisplayInventory(lines, units: .usCustomary)) != nil
            }
            guard case .data(let function, _, let body)? = try? VeederRootTLS.decodeReply(b) else { return false }
            var ok = false
            for units in [VeederRootTLS.Units.metric, .usCustomary] where function.hasPrefix("i201") {
                ok = (try? VeederRootTLS.parseInventory(body, units: units)) != nil || ok
            }
            if function.hasPrefix("i202") { ok = (try? VeederRootTLS.parseDeliveries(body, units: .metric)) != nil }
            if function.hasPrefix("i205") { ok = (try? VeederRootTLS.parseTankAlarms(body)) != nil }
            return ok
        case .push:
            guard let line = try? PushRecordCodec.decode(b) else { return false }
            guard (try? PushRecordCodec.decode(Array(PushRecordCodec.encode(line).utf8))) == line else {
                throw Violation(message: "push line does not decode the same after encoding")
            }
            return true
        }
    }
}
