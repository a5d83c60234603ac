import FuelWire
import Foundation
import FuelFixtures
import Testing

/// Veeder-Root TLS replies recorded from real consoles (`Tests/Fixtures/tls/replies.tsv`).
@Suite struct VeederRootTLSTests {
    static func replies() throws -> [(name: String, expect: String, bytes: [UInt8])] {
        let text = try Fixture.text("tls/replies.tsv")
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let f = line.split(separator: "\t").map(String.init)
            guard f.count == 3 else { return nil }
            var bytes: [UInt8] = []
            var i = f[2].startIndex
            while i < f[2].endIndex {
                let j = f[2].index(i, offsetBy: 2)
                bytes.append(UInt8(f[2][i..<j], radix: 16)!)
                i = j
            }
            return (f[0], f[1], bytes)
        }
    }

    @Test func everyRecordedReplyIsClassifiedAsTheFileSays() throws {
        let replies = try Self.replies()
        #expect(replies.count == 4)
        for r in replies {
            let ok = (try? VeederRootTLS.decodeReply(r.bytes)) != nil
            #expect(ok == (r.expect == "valid"), "\(r.name)")
        }
    }

    @Test func briefVectors() throws {
        let reply = try VeederRootTLS.decodeReply(Array("\u{01}i101002312301342020402&&FB3B\u{03}".utf8))
        #expect(reply == .data(function: "i10100", time: "2312301342", body: Array("020402".utf8)))
        #expect(try VeederRootTLS.decodeReply(Array("\u{01}9999FF1B\u{03}".utf8)) == .unknownCommand)
        #expect(Float(bitPattern: 0x461C_4000) == 10000)
        #expect(VeederRootTLS.command("i201", tank: 0) == Array("\u{01}i20100".utf8))
        #expect(VeederRootTLS.command("i201", tank: 3, securityCode: "ABC123") == Array("\u{01}ABC123i20103".utf8))
    }

    @Test func inventoryInBothUnitSystems() throws {
        // Tank 1, product '1', status 0001 (delivery in progress), 7 fields; FF800000 = no value.
        let body = "011000107" + "461C4000" + "461C4000" + "45FA0000" + "42C80000" + "3F800000" + "42700000" + "FF800000"
        let frame = VeederRootTLS.encodeReply(function: "i20100", time: "2611010800", body: Array(body.utf8))
        guard case .data(let fn, _, let data) = try VeederRootTLS.decodeReply(frame) else { Issue.record("no data"); return }
        #expect(fn == "i20100")
        let metric = try VeederRootTLS.parseInventory(data, units: .metric)
        #expect(metric.count == 1 && metric[0].tank == 1 && metric[0].deliveryInProgress)
        #expect(metric[0].volumeL == 10000 && metric[0].ullageL == 8000 && metric[0].heightMM == 100 && metric[0].temperatureC == 60)
        #expect(metric[0].waterVolumeL == nil)
        let us = try VeederRootTLS.parseInventory(data, units: .usCustomary)
        #expect(abs((us[0].volumeL ?? 0) - 37854.11784) < 1e-6)
        #expect(abs((us[0].heightMM ?? 0) - 2540) < 1e-9 && abs((us[0].temperatureC ?? 0) - 15.5555) < 1e-3)
        #expect(throws: VeederRootTLS.DecodeError.self) { try VeederRootTLS.parseInventory(Array(body.dropLast(3).utf8), units: .metric) }
    }
}
