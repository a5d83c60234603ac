import FuelModel
import FuelSim
import FuelWire
import PropertyBased
import Testing

/// The drop directory's file formats on exact cases, and every record the simulator makes read
/// back the same through NDJSON and through CSV.
@Suite struct DropFileTests {
    @Test func namesSayWhatIsTaken() {
        #expect(DropFile.format(ofName: "sales-0001.csv") == .csv)
        #expect(DropFile.format(ofName: "sales-0001.NDJSON") == .ndjson && DropFile.format(ofName: "x.jsonl") == .ndjson)
        #expect(DropFile.format(ofName: "sales-0001.csv.tmp") == nil && DropFile.format(ofName: ".sales.csv") == nil)
        #expect(DropFile.format(ofName: "notes.txt") == nil)
    }

    @Test func aBadLineIsReportedAndTheOthersStand() throws {
        let text = """
            {"kind":"price_change","grade":"92","unit_price":7.85,"effective_at":"2026-11-01T00:00:00+08:00"}

            {"kind":"sale","nozzle":"N1"}
            not json
            {"kind":"price_change","grade":"95","unit_price":8.35,"effective_at":"2026-11-01T00:00:00+08:00","seq":99}
            """
        let lines = DropFile.parse(Array(text.utf8), format: .ndjson)
        #expect(lines.map(\.number) == [1, 3, 4, 5])
        let errors = lines.compactMap { if case .failure(let e) = $0.result { "\($0.number): \(e)" } else { nil } }
        #expect(errors.count == 2 && errors[0].hasPrefix("3: sale.") && errors[1].hasPrefix("4: "))
        guard case .success(.priceChange(let p)) = lines[3].result else { Issue.record("line 5 did not read"); return }
        #expect(p.grade == "95" && p.unitPrice == 8.35)  // a seq in the file is the agent's to give, not the file's
    }

    @Test func csvWithQuotesABOMAndCRLF() throws {
        let text = "\u{FEFF}kind,nozzle,grade,volume_l,unit_price,amount,started_at,ended_at,receipt_no\r\n"
            + "sale,N1,92,35.2,7.85,276.32,2026-11-01T08:00:05+08:00,2026-11-01T08:01:02+08:00,\"R-1,\"\"a\"\"\"\r\n"
            + "sale,N2,92,abc,7.85,1,2026-11-01T08:00:05+08:00,2026-11-01T08:01:02+08:00,\r\n"
            + "device_status,,,,,,,,\r\n"
        let lines = DropFile.parse(Array(text.utf8), format: .csv)
        #expect(lines.map(\.number) == [2, 3, 4])
        guard case .success(.sale(let s)) = lines[0].result else { Issue.record("\(lines[0].result)"); return }
        #expect(s.nozzle == "N1" && s.grade == "92" && s.volumeL == 35.2 && s.receiptNo == "R-1,\"a\"")
        guard case .failure(let e) = lines[1].result else { Issue.record("a bad number was read"); return }
        #expect("\(e)".contains("volume_l") && "\(e)".contains("abc"))
        guard case .failure = lines[2].result else { Issue.record("a status without device was read"); return }
    }

    /// Every kind the simulator makes (sales, deliveries, readings, totalizers, vapour, status,
    /// prices) reads back identically from an NDJSON line and from a CSV row.
    @Test func simulatedRecordsRoundTripThroughBothFormats() async throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        await propertyCheck(count: 5, input: Gen.int(in: 1...1_000_000)) { seed in
            var scenario = StationScenario(station: registry.stations[0], seed: UInt64(seed), start: Timestamp(seconds: 1_793_000_000), days: 0.25,
                                           prices: DemoRegistry.prices)
            scenario.vapourMonitoring = true
            var sim = StationSimulator(scenario)
            let records = sim.records()
            #expect(records.count > 50)
            let ndjson = records.map { r in String(PushRecordCodec.encode(PushLine(seq: 1, record: r)).dropFirst("{\"seq\":1,".count).dropLast()) }
                .map { "{" + $0 + "}" }.joined(separator: "\n")
            let fromJSON = DropFile.parse(Array(ndjson.utf8), format: .ndjson).compactMap { try? $0.result.get() }
            #expect(fromJSON == records)
            // CSV: one header for every field any record has; lists joined with ;.
            var names: [String] = []
            for r in records { for (n, _) in r.fields where !names.contains(n) { names.append(n) } }
            func cell(_ v: FieldValue?) -> String {
                switch v {
                case .string(let s)?: return s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
                case .number(let d)?: return "\(d)"
                case .integer(let i)?: return "\(i)"
                case .strings(let l)?: return l.joined(separator: ";")
                default: return ""
                }
            }
            var csv = names.joined(separator: ",") + "\n"
            for r in records {
                let f = Dictionary(r.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
                csv += names.map { cell(f[$0]) }.joined(separator: ",") + "\n"
            }
            let fromCSV = DropFile.parse(Array(csv.utf8), format: .csv).compactMap { try? $0.result.get() }
            #expect(fromCSV == records)
        }
    }
}
