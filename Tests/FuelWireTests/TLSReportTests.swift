import Foundation
import FuelModel
import FuelWire
import Testing

/// Veeder-Root reports beyond i201: deliveries (i202), tank alarms (i205), the display-format
/// inventory (I201) and console times.
@Suite struct TLSReportTests {
    static func hex(_ f: Float) -> String {
        let s = String(f.bitPattern, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    @Test func i202DeliveryInGallonsBecomesLitres() throws {
        let fields: [Float] = [1000, 990, 0.5, 60, 6000, 5950, 0.5, 59, 20, 60]
        let body = "011" + "01" + "2611010910" + "2611010940" + "0A" + fields.map(Self.hex).joined()
        let reply = VeederRootTLS.encodeReply(function: "i20201", time: "2611011000", body: Array(body.utf8))
        guard case .data(let function, _, let data) = try VeederRootTLS.decodeReply(reply) else { Issue.record("not data"); return }
        #expect(function == "i20201")
        let d = try VeederRootTLS.parseDeliveries(data, units: .usCustomary)
        #expect(d.count == 1)
        let x = try #require(d.first)
        #expect(x.tank == 1 && x.product == "1")
        #expect(x.start == VeederRootTLS.ConsoleTime("2611010910") && x.end.description == "2026-11-01 09:40")
        #expect(abs(x.startVolumeL! - 3785.411784) < 1e-3)
        #expect(abs(x.increaseL! - (5950 - 990) * 3.785411784) < 1e-2)
        #expect(abs(x.endTemperatureC! - 15) < 1e-4)
        #expect(abs(x.endHeightMM! - 1524) < 1e-3)
    }

    @Test func i202TruncatedNamesTheField() {
        let body = Array(("011" + "01" + "2611010910" + "2611010940" + "0A" + "447A0000").utf8)
        #expect(throws: VeederRootTLS.DecodeError.self) { try VeederRootTLS.parseDeliveries(body, units: .metric) }
        do { _ = try VeederRootTLS.parseDeliveries(body, units: .metric) } catch {
            #expect(error.message.contains("field 2 of delivery 1 of tank 1"))
        }
        #expect(VeederRootTLS.ConsoleTime("2602300910") == nil)  // 30 February
    }

    @Test func i205TankAlarms() throws {
        let text: String = "0100" + "0202" + "0309" + "0401" + "05"
        let a = try VeederRootTLS.parseTankAlarms(Array(text.utf8))
        let tanks: [Int] = a.map { $0.tank }
        #expect(tanks == [1, 2, 4])
        #expect(a[0].codes.isEmpty)
        #expect(a[1].codes == ["03", "09"] && a[1].names == ["tank high water alarm", "tank probe out alarm"])
        #expect(a[2].codes == ["05"])
        #expect(throws: VeederRootTLS.DecodeError.self) { try VeederRootTLS.parseTankAlarms(Array("0102030".utf8)) }
    }

    static let displayReport = """
        \u{01}\r
        I20100\r
        NOV 21, 2026  8:05 AM\r
        \r
        LN-SY-0001 TEST STATION\r
        \r
        IN-TANK INVENTORY\r
        \r
        TANK PRODUCT             VOLUME TC VOLUME   ULLAGE   HEIGHT    WATER     TEMP\r
          1  92 UNLEADED          18234     18190    11766  1532.00     3.00    14.20\r
          2  DIESEL 0             9000      8990     21000   800.50     0.00    12.00\r
        \r
        \u{03}
        """

    @Test func displayInventoryReadsColumnsByHeader() throws {
        let (function, lines) = try VeederRootTLS.decodeDisplayReply(Array(Self.displayReport.utf8))
        #expect(function == "I20100")
        let inv = try VeederRootTLS.parseDisplayInventory(lines, units: .metric)
        #expect(inv.map(\.tank) == [1, 2])
        #expect(inv[0].volumeL == 18234 && inv[0].tcVolumeL == 18190 && inv[0].ullageL == 11766)
        #expect(inv[0].heightMM == 1532 && inv[0].waterMM == 3 && inv[0].temperatureC == 14.2)
        #expect(inv[1].product == "D" && inv[1].heightMM == 800.5)
        let us = try VeederRootTLS.parseDisplayInventory(lines, units: .usCustomary)
        #expect(abs(us[0].temperatureC! - (14.2 - 32) * 5 / 9) < 1e-9)
    }

    @Test func displayInventoryErrorsNameTankAndColumn() throws {
        let broken = Self.displayReport.replacingOccurrences(of: "800.50", with: "8OO.5O")
        let (_, lines) = try VeederRootTLS.decodeDisplayReply(Array(broken.utf8))
        do {
            _ = try VeederRootTLS.parseDisplayInventory(lines, units: .metric)
            Issue.record("accepted a non-number")
        } catch {
            #expect(error.message == "I201 tank 2 column HEIGHT: \"8OO.5O\" is not a number")
        }
        #expect(throws: VeederRootTLS.DecodeError.self) { try VeederRootTLS.decodeDisplayReply(Array("\u{01}hello\u{03}".utf8)) }
    }

    @Test func consoleTimeIsReadInTheStationZone() throws {
        let t = try #require(VeederRootTLS.ConsoleTime("2611010800"))
        #expect(t.instant(in: LocalClock(timezone: "Asia/Shanghai")).rfc3339 == "2026-11-01T00:00:00Z")
        #expect(t.instant(in: LocalClock(timezone: "UTC")).rfc3339 == "2026-11-01T08:00:00Z")
    }
}
