import Foundation
import FuelModel
import FuelWire
import PropertyBased
import Testing
@testable import FuelDetect
@testable import FuelEvaluate
@testable import FuelSim

/// A detector's state is stored as JSON after every pass: pending sales are flat figures (start and
/// duration in µs, litres) that read back exactly, the old keyed layout still reads, and a busy
/// station's detector restarted from its state goes on exactly as the one that kept running.
@Suite struct StateCodingTests {
    let t0 = Timestamp(rfc3339: "2026-11-16T22:26:00.016191Z")!

    /// An encoder as a daemon with `detect.state_figures_as_text: false` has it.
    static var arraysEncoder: JSONEncoder {
        let e = JSONEncoder()
        e.userInfo[.figuresAsArrays] = true
        return e
    }

    @Test func aTimedVolumeIsThreeFigures() throws {
        let v = TimedVolume(from: t0, to: t0.adding(seconds: 35.5), litres: 17.964588395632397)
        let text = String(decoding: try JSONEncoder().encode(v), as: UTF8.self)
        #expect(text == "\"\(t0.microseconds),355e5,17.964588395632397\"")
        let array = String(decoding: try Self.arraysEncoder.encode(v), as: UTF8.self)
        #expect(array == "[\(t0.microseconds),35500000,17.964588395632397]")
        for stored in [text, array] { #expect(try JSONDecoder().decode(TimedVolume.self, from: Data(stored.utf8)) == v) }
        let sale = TankBalanceRule.PendingSale(nozzle: 1, volume: v)
        let saleText = String(decoding: try JSONEncoder().encode(sale), as: UTF8.self)
        #expect(saleText == "\"1,\(t0.microseconds),355e5,17.964588395632397\"")
        let saleArray = String(decoding: try Self.arraysEncoder.encode(sale), as: UTF8.self)
        #expect(saleArray == "[1,\(t0.microseconds),35500000,17.964588395632397]")
        for stored in [saleText, saleArray] {
            #expect(try JSONDecoder().decode(TankBalanceRule.PendingSale.self, from: Data(stored.utf8)) == sale)
            #expect(try JSONDecoder().decode(InventoryRegression.Sale.self, from: Data(stored.utf8)) == InventoryRegression.Sale(nozzle: 1, volume: v))
        }
    }

    /// Figures as text read back to the same bits, whole numbers without a fraction; an empty field
    /// is a figure not given; a field that is not a number is refused.
    @Test func figuresAsTextReadBackExactly() async throws {
        #expect(FigureList([3, -2, 1.5, 1_762_000_000_000_000, 1e-7, 9_007_199_254_740_992]).text == "3,-2,1.5,1762e12,1e-07,9007199254740992.0")
        #expect(FigureList(optional: [1, nil, 2.5]).text == "1,,2.5" && FigureList([]).text == "")
        // A whole number's trailing zeros as an exponent where that is shorter.
        #expect(FigureList([-4_797_000, 1_000, 100, 0, 1_800, 2_500_000.5]).text == "-4797e3,1e3,100,0,1800,2500000.5")
        #expect(FigureList(text: "-4797e3,1e3")?.figures == [-4_797_000, 1_000])
        #expect(FigureList(text: "1,,2.5")?.values == [1, nil, 2.5] && FigureList(text: "")?.values == [])
        for bad in ["1,x", "a", "1;2"] { #expect(FigureList(text: bad[...]) == nil, "\(bad)") }
        // Minus zero keeps its sign.
        #expect(FigureList(text: FigureList([-0.0]).text[...])?.figures?.first?.sign == .minus)
        #expect(FigureList(text: "1,2,")?.values == [1, 2, nil])
        // Runs of three or more as `figure*count`; shorter runs, gaps and minus zero against zero stay apart.
        #expect(FigureList([1800, 1800, 1800, 1800, 900, 900, 2.5, 2.5, 2.5]).text == "1800*4,900,900,2.5*3")
        #expect(FigureList(optional: [7, 7, nil, 7, 7, 7]).text == "7,7,,7*3")
        #expect(FigureList([0, -0.0, -0.0, -0.0]).text == "0,-0.0*3")
        #expect(FigureList(text: "1800*4,900,,2.5*3")?.values == [1800, 1800, 1800, 1800, 900, nil, 2.5, 2.5, 2.5])
        for bad in ["1*0", "1*-2", "*3", "1*", "1*x", "1*2*3", "1*99999999999"] { #expect(FigureList(text: bad[...]) == nil, "\(bad)") }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TimedVolume.self, from: Data(#""1,x,3""#.utf8)) }
        await propertyCheck(input: Gen.int(in: 1...1_000_000)) { seed in
            var rng = Xorshift(seed: UInt64(seed))
            var values: [Double] = []
            for i in 0..<20 {
                let v: Double = switch i % 4 {
                case 0: (rng.uniform() - 0.5) * 1e6
                case 1: ((rng.uniform() - 0.5) * 1e15).rounded()
                case 2: rng.uniform() * 1e-9
                default: Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)
                }
                // Runs of any length (a figure repeated 0–5 times more), as a fixed clock's intervals are.
                values += repeatElement(v, count: 1 + Int(rng.next() % 6))
            }
            let back = FigureList(text: FigureList(values).text[...])?.figures
            #expect(back?.map(\.bitPattern) == values.map(\.bitPattern), "\(values)")
        }
    }

    @Test func theKeyedLayoutOfEarlierBuildsStillReads() throws {
        let keyed = #"{"from":"2026-11-16T22:26:00.016191Z","to":"2026-11-16T22:26:35.516191Z","litres":17.964588395632397}"#
        let v = TimedVolume(from: t0, to: t0.adding(seconds: 35.5), litres: 17.964588395632397)
        #expect(try JSONDecoder().decode(TimedVolume.self, from: Data(keyed.utf8)) == v)
        let sale = #"{"nozzle":2,"volume":\#(keyed)}"#
        #expect(try JSONDecoder().decode(TankBalanceRule.PendingSale.self, from: Data(sale.utf8)) == TankBalanceRule.PendingSale(nozzle: 2, volume: v))
        #expect(try JSONDecoder().decode(InventoryRegression.Sale.self, from: Data(sale.utf8)) == InventoryRegression.Sale(nozzle: 2, volume: v))
    }

    @Test func figuresThatAreNotAVolumeAreRefused() {
        for bad in ["[1,2]", "[1.5,2,3]", "[1,-5,3]", "[1,2,3,4]"] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(TimedVolume.self, from: Data(bad.utf8)) }
        }
        for bad in ["[-1,1,2,3]", "[0.5,1,2,3]", "[1,1,2]"] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(TankBalanceRule.PendingSale.self, from: Data(bad.utf8)) }
        }
    }

    @Test func anyVolumeReadsBackExactly() async {
        await propertyCheck(input: Gen.int(in: 1...1_000_000)) { seed in
            var rng = Xorshift(seed: UInt64(seed))
            let from = Timestamp(microseconds: 1_700_000_000_000_000 + Int64(rng.uniform() * 1e14))
            let v = TimedVolume(from: from, to: Timestamp(microseconds: from.microseconds + Int64(rng.uniform() * 6e8)),
                                litres: rng.uniform() * 200)
            let back = try? JSONDecoder().decode(TimedVolume.self, from: JSONEncoder().encode(v))
            #expect(back == v)
        }
    }

    /// Four days of a busy 24-hour station on a millimetre gauge, then its state through JSON (as the
    /// daemon stores it); a fifth day fed to both gives the same events and the same state.
    @Test func aRestartedDetectorGoesOnExactlyAsTheRunningOne() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        let station = registry.stations[0]
        let profile = try #require(StationProfile(stationID: station.id, registry: registry))
        var s = StationScenario(station: station, seed: 4, start: t0, days: 5, prices: DemoRegistry.prices)
        s.gauge = try #require(GaugeProfile.named("mm-15m-24h"))
        s.usage = s.gauge.usage
        s.maxClockSkewSeconds = 60
        var sim = StationSimulator(s)
        let records = sim.records()
        let cut = t0.adding(seconds: 4 * 86_400)
        var running = StationDetector(station: station.id)
        var chainSeq: Int64 = 0
        func entry(_ r: Record) -> LedgerEntry {
            chainSeq += 1
            return LedgerEntry(station: station.id, chainSeq: chainSeq, source: .push, sourceSeq: chainSeq, record: r)
        }
        var rest: [LedgerEntry] = []
        for r in records {
            let e = entry(r)
            if r.at < cut { _ = running.observe(e, profile: profile, thresholds: DetectionThresholds()) } else { rest.append(e) }
        }
        var restarted = try JSONDecoder().decode(StationDetector.self, from: JSONEncoder().encode(running))
        var a: [DetectorEvent] = [], b: [DetectorEvent] = []
        for e in rest {
            a += running.observe(e, profile: profile, thresholds: DetectionThresholds())
            b += restarted.observe(e, profile: profile, thresholds: DetectionThresholds())
        }
        let first = a.indices.first { $0 < b.count && a[$0] != b[$0] }
        #expect(rest.count > 1_000 && a.count == b.count && first == nil,
                "\(a.count) vs \(b.count) events; first difference: \(first.map { "\(a[$0]) vs \(b[$0])" } ?? "none")")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(running) == encoder.encode(restarted))
        // The same state written with its figures as arrays (a daemon with detect.state_figures_as_text
        // false, or a build before) reads as the same state.
        let fromArrays = try JSONDecoder().decode(StationDetector.self, from: Self.arraysEncoder.encode(running))
        #expect(try encoder.encode(fromArrays) == encoder.encode(running))
    }
}
