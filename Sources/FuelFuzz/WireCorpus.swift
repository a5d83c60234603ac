import FuelGuomi
import FuelModel
import FuelWire

/// Valid inputs the fuzzer starts from: packets, replies and lines of the shapes real devices send.
package enum WireCorpus {
    static func hex(_ f: Float) -> String {
        let s = String(f.bitPattern, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    package static func inputs(_ target: WireFuzzer.Target) -> [[UInt8]] {
        switch target {
        case .hj212: hj212
        case .tls: tls
        case .push: push
        }
    }

    /// The key of the corpus's 2025 device (`fuzzMN`), whose uploads are SM4-encrypted.
    package static let fuzzKey: [UInt8] = Array("fuzz-device-key!".utf8)
    package static let fuzzMN = "F0220250000000000000A212"

    static let hj212: [[UInt8]] = plain2017 + editions2025

    static let plain2017: [[UInt8]] = [
        "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&",
        "QN=20261121080000123;ST=31;CN=2011;PW=123456;MN=VR0001;Flag=5;CP=&&DataTime=20261121080000;q01-Rtd=1.05,q01-Flag=N;p01-Rtd=-150.5,p01-Flag=N;a24088-Rtd=12000,a24088-Flag=N&&",
        "QN=20261121080100123;ST=31;CN=2051;PW=123456;MN=VR0001;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20261121080000;q01-Avg=1.10,q01-Min=1.0,q01-Max=1.2,q01-Flag=N&&",
        "ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N&&",
        "QN=20201015123632010;ST=80;CN=2011;PW=123456;MN=410183160889201000212505;Flag=4;CP=&&&&",
    ].map { HJ212.frame(dataSegment: $0) }

    /// HJ 212-2025: plain, SM4-encrypted (raw and `{0x..}` text), a split part, a resend, a heartbeat.
    static let editions2025: [[UInt8]] = {
        let upload = "QN=20260301101500123;ST=31;CN=2011;PW=123456;MN=\(fuzzMN);Flag=9;CP=&&DataTime=20260301101500;q01-Rtd=1.05,q01-Flag=N;p01-Rtd=-120.5,p01-Flag=N&&"
        let encrypt: ([UInt8]) throws -> [UInt8] = { try SM4(key: fuzzKey).encryptBlocks($0) }
        var out = [
            HJ212.frame(dataSegment: upload),
            HJ212.frame(dataSegment: "QN=20260301101600123;ST=31;CN=2051;PW=123456;MN=\(fuzzMN);Flag=11;PNUM=2;PNO=2;CP=&&DataTime=20260301101500;q02-Avg=1.1&&"),
            HJ212.frame(dataSegment: "QN=20260301101700123;ST=31;CN=2011;PW=123456;MN=\(fuzzMN);Flag=9;RF=1;CP=&&DataTime=20260301100000;q01-Rtd=1.0&&"),
            HJ212.frame(dataSegment: "QN=20260301101800123;ST=31;CN=9015;PW=123456;MN=\(fuzzMN);Flag=8;CP=&&&&"),
        ]
        for form in [HJ212.CipherText.raw, .text] {
            if let f = try? HJ212.frame(dataSegment: upload, encryptBlocks: encrypt, as: form) { out.append(f) }
        }
        return out
    }()

    static let tls: [[UInt8]] = {
        func floats(_ v: [Float]) -> String { v.map(hex).joined() }
        let tank1: String = "01" + "1" + "0000" + "07" + floats([18234.5, 18190.2, 11765.5, 1532, 3, 14.2, 0])
        let tank2: String = "02" + "2" + "0001" + "07" + floats([9000, 8990, 21000, 800.5, 0, 12]) + "FF800000"
        let inv = tank1 + tank2
        let del: String = "011" + "01" + "2611010910" + "2611010940" + "0A" + floats([1000, 990, 0.5, 60, 6000, 5950, 0.5, 59, 20, 60])
        let display = "\r\nI20100\r\nNOV 21, 2026  8:05 AM\r\n\r\nIN-TANK INVENTORY\r\n\r\nTANK PRODUCT             VOLUME TC VOLUME   ULLAGE   HEIGHT    WATER     TEMP\r\n  1  92 UNLEADED          18234     18190    11766  1532.00     3.00    14.20\r\n"
        return [
            VeederRootTLS.encodeReply(function: "i20100", time: "2611010800", body: Array(inv.utf8)),
            VeederRootTLS.encodeReply(function: "i20200", time: "2611011000", body: Array(del.utf8)),
            VeederRootTLS.encodeReply(function: "i20500", time: "2611011000", body: Array("0100020309".utf8)),
            [VeederRootTLS.soh] + Array("9999FF1B".utf8) + [VeederRootTLS.etx],
            [VeederRootTLS.soh] + Array(display.utf8) + [VeederRootTLS.etx],
        ]
    }()

    static let push: [[UInt8]] = [
        #"{"seq":41,"kind":"tank_reading","tank":"T1","at":"2026-11-01T08:00:00Z","volume_l":18234.5,"tc_volume_l":18190.2,"height_mm":1532.0,"water_mm":3.0,"temperature_c":14.2}"#,
        #"{"seq":42,"kind":"sale","nozzle":"N3","grade":"92","volume_l":35.20,"unit_price":7.85,"amount":276.32,"started_at":"2026-11-01T08:00:05Z","ended_at":"2026-11-01T08:01:02Z","totalizer_start_l":120034.10,"totalizer_end_l":120069.30}"#,
        #"{"seq":43,"kind":"delivery","tank":"T1","supplier":"SUP-001","batch":"LH-2026-1101-07","bill_no":"BL-88321","grade":"92","declared_volume_l":20000,"started_at":"2026-11-01T09:10:00Z","ended_at":"2026-11-01T09:40:00Z"}"#,
        #"{"seq":44,"kind":"vapour_reading","nozzle":"N1","device":"VR0001","at":"2026-11-01T08:00:00+08:00","al_ratio":1.05,"factors":["a01001-Rtd=8.3"]}"#,
        #"{"seq":45,"kind":"device_status","device":"ATG","at":"2026-11-01T08:00:00Z","state":"alarm","codes":["probe out","\u00e9"]}"#,
    ].map { Array($0.utf8) }
}
