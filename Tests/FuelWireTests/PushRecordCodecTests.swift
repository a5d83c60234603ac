import FuelModel
import FuelWire
import PropertyBased
import Testing

@Suite struct PushRecordCodecTests {
    /// The three lines of the design brief's push contract.
    static let briefLines = [
        #"{"seq":41,"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:00:00Z","volume_l":18234.5,"tc_volume_l":18190.2,"height_mm":1532.0,"water_mm":3.0,"temperature_c":14.2}"#,
        #"{"seq":42,"kind":"sale","nozzle":"N3","grade":"92","volume_l":35.20,"unit_price":7.85,"amount":276.32,"started_at":"2026-11-01T08:00:05Z","ended_at":"2026-11-01T08:01:02Z","totalizer_start_l":120034.10,"totalizer_end_l":120069.30}"#,
        #"{"seq":43,"kind":"delivery","tank":"T1","supplier":"SUP-001","batch":"LH-2026-1101-07","bill_no":"BL-88321","grade":"92","declared_volume_l":20000,"started_at":"2026-11-01T09:10:00Z","ended_at":"2026-11-01T09:40:00Z"}"#,
    ]

    func decode(_ line: String) throws(PushLineError) -> PushLine { try PushRecordCodec.decode(Array(line.utf8)) }

    @Test func decodesTheBriefsExamples() throws {
        let lines = try Self.briefLines.map { try decode($0) }
        #expect(lines.map(\.seq) == [41, 42, 43])
        guard case .tankReading(let r) = lines[0].record else { Issue.record("not a reading"); return }
        #expect(r.tank == "T1" && r.volumeL == 18234.5 && r.tcVolumeL == 18190.2 && r.temperatureC == 14.2)
        guard case .sale(let s) = lines[1].record else { Issue.record("not a sale"); return }
        #expect(s.nozzle == "N3" && s.volumeL == 35.2 && s.amount == 276.32 && s.totalizerEndL == 120069.3)
        #expect(s.startedAt.seconds(to: s.endedAt) == 57)
        guard case .delivery(let d) = lines[2].record else { Issue.record("not a delivery"); return }
        #expect(d.declaredVolumeL == 20000 && d.batch == "LH-2026-1101-07" && d.billNo == "BL-88321")
    }

    @Test(arguments: [
        (#"{"kind":"sale"}"#, nil, "seq: missing"),
        (#"{"seq":-1,"kind":"sale"}"#, nil, "seq: must be a non-negative integer, got -1"),
        (#"{"seq":1.5,"kind":"sale"}"#, nil, "seq: must be a non-negative integer, got 1.5"),
        (#"{"seq":7,"kind":"sales"}"#, 7, #"kind: unknown kind "sales""#),
        (#"{"seq":7,"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:00:00Z"}"#, 7, "tank_reading.volume_l: missing"),
        (#"{"seq":7,"kind":"tank_reading","tank":"T1","at":"yesterday","volume_l":1}"#, 7, #"tank_reading.at: "yesterday" is not an RFC 3339"#),
        (#"{"seq":7,"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:00:00Z","volume_l":"12"}"#, 7, "tank_reading.volume_l: expected a number, got a string"),
        (#"{"seq":7,"seq":8}"#, nil, "record.seq: appears twice"),
        (#"[1,2]"#, nil, "line: expected a JSON object, got an array"),
        (#"{"seq":7,"kind":"#, nil, "line: invalid JSON"),
    ] as [(String, Int64?, String)])
    func errorsNameTheField(line: String, seq: Int64?, message: String) {
        do {
            _ = try decode(line)
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.seq == seq)
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }

    /// A repeated name is refused however many fields the line has (a dozen are checked pair by pair,
    /// more through a set); many unknown fields without a repeat are read.
    @Test func aRepeatedFieldIsRefusedInLinesOfAnyLength() throws {
        let base = #"{"seq":3,"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:00:00Z","volume_l":1"#
        // The pair-by-pair check covers lines of up to 32 fields (`FieldReader.scanLimit`).
        for extra in [0, 5, 26, 27, 40] {
            let unknown = (0..<extra).map { #","x\#($0)":\#($0)"# }.joined()
            let ok = try decode(base + unknown + "}")
            guard case .tankReading(let r) = ok.record else { Issue.record("not a reading"); return }
            #expect(ok.seq == 3 && r.volumeL == 1, "\(extra) fields more")
            let repeated = base + unknown + #","tank":"T2"}"#
            #expect { try decode(repeated) } throws: { "\($0)".hasPrefix("record.tank: appears twice") }
        }
    }

    @Test func unknownFieldsAreIgnoredAndNullIsAbsent() throws {
        let l = try decode(#"{"seq":1,"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:00:00Z","volume_l":1,"tc_volume_l":null,"vendor_x":5}"#)
        guard case .tankReading(let r) = l.record else { Issue.record("not a reading"); return }
        #expect(r.tcVolumeL == nil)
    }

    /// Encoding then decoding gives the same record, for generated records of every kind.
    @Test func encodeDecodeRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...6), Gen.int(in: 0...1_000_000), Gen.double(in: 0.01...50_000)) { kind, seq, x in
            let t = Timestamp(seconds: 1_793_491_200 + Int64(seq))
            let record: Record = switch kind {
            case 0: .sale(Sale(nozzle: "N\(seq % 9)", grade: "92", volumeL: x, unitPrice: 7.85, amount: x * 7.85, startedAt: t,
                               endedAt: t.adding(seconds: 60), totalizerStartL: seq % 2 == 0 ? x : nil, receiptNo: "R\"\(seq)"))
            case 1: .delivery(Delivery(tank: "T1", supplier: "SUP-001", batch: nil, billNo: "BL-\(seq)", grade: "0", declaredVolumeL: x,
                                       densityKgM3: 835.5, startedAt: t, endedAt: t.adding(seconds: 1800)))
            case 2: .tankReading(TankReading(tank: "T\(seq % 4)", at: t, volumeL: x, tcVolumeL: x * 0.99, temperatureC: -3.25, status: seq % 16))
            case 3: .totalizerReading(TotalizerReading(nozzle: "N1", at: t, volumeTotalL: x * 100, amountTotal: nil))
            case 4: .vapourReading(VapourReading(nozzle: "N2", at: t, alRatio: x / 50_000, pressurePa: -x / 100))
            case 5: .deviceStatus(DeviceStatus(device: "ATG-1", at: t, state: .alarm, codes: ["probe out", "\(seq)"]))
            default: .priceChange(PriceChange(grade: "95", unitPrice: x / 1000, effectiveAt: t))
            }
            let line = PushRecordCodec.encode(PushLine(seq: Int64(seq), record: record))
            #expect((try? PushRecordCodec.decode(Array(line.utf8))) == PushLine(seq: Int64(seq), record: record))
        }
    }

    @Test func verdictEncodesAsTheContractSays() throws {
        let v = PushVerdict(accepted: 2, duplicates: 1, rejected: [.init(line: 3, seq: 43, error: "delivery.tank: unknown tank T9")])
        #expect(v.jsonText == #"{"accepted":2,"duplicates":1,"rejected":[{"line":3,"seq":43,"error":"delivery.tank: unknown tank T9"}]}"#)
        #expect(try PushVerdict(jsonText: v.jsonText) == v)
    }
}
