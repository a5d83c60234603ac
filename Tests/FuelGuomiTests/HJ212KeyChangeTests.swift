import FuelGuomi
import FuelModel
import FuelWire
import Foundation
import Testing

/// CN 1014 (HJ 212-2025: a device's SM4 key changes) on exact packets, and the key ring that
/// decides which keys decrypt during a change.
@Suite struct HJ212KeyChangeTests {
    static let mn = "4A7F00C3B2E14D9A0F6C2B18"
    static let old: [UInt8] = Array("0123456789abcdef".utf8)
    static let new: [UInt8] = Array(repeating: 0xA5, count: 16)

    @Test func thePlatformsKeyCommandIsEncryptedUnderTheKeyInForceAndReadsBack() throws {
        let segment = HJ212.keyCommand(qn: "20261121080000123", mn: Self.mn, password: "123456", newKey: Self.new)
        #expect(segment.contains("CN=1014") && segment.contains("Flag=9"))
        for form in [HJ212.CipherText.raw, .text] {
            let frame = try HJ212.frame(dataSegment: segment, encryptBlocks: SM4(key: Self.old).encryptBlocks, as: form)
            // The key is not on the wire in the clear.
            #expect(!String(decoding: frame, as: UTF8.self).contains("a5a5a5a5"))
            let back = try HJ212.decode(frame, decryptBlocksFor: { _ in { try SM4(key: Self.old).decryptBlocks($0) } })
            #expect(try HJ212.announcedKey(in: back) == Self.new)
            // Under another key it does not decode (the CRC is over the plaintext).
            #expect(throws: HJ212.DecodeError.self) {
                try HJ212.decode(frame, decryptBlocksFor: { _ in { try SM4(key: Self.new).decryptBlocks($0) } })
            }
        }
    }

    @Test func aDevicesAnnouncementIsReadUnderEachName() throws {
        for name in HJ212.keyItemNames + ["secretkey"] {
            let p = try HJ212.parseDataSegment("QN=1;ST=31;CN=1014;PW=1;MN=\(Self.mn);Flag=9;CP=&&\(name)=A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5&&")
            #expect(try HJ212.announcedKey(in: p) == Self.new, "\(name)")
        }
        let short = try HJ212.parseDataSegment("QN=1;ST=31;CN=1014;PW=1;MN=\(Self.mn);Flag=9;CP=&&NewKey=A5A5&&")
        #expect { try HJ212.announcedKey(in: short) } throws: { "\($0)".contains("32 hexadecimal digits") }
        let none = try HJ212.parseDataSegment("QN=1;ST=31;CN=1014;PW=1;MN=\(Self.mn);Flag=9;CP=&&&&")
        #expect(throws: HJ212.DecodeError.self) { try HJ212.announcedKey(in: none) }
    }

    @Test func theRingKeepsThePreviousKeyForTheOverlapOnly() {
        let t0 = Timestamp(seconds: 1_790_000_000)
        var ring = HJ212KeyRing(keys: [.init(bytes: Self.old, since: nil, origin: .feedsFile)])
        #expect(ring.usable(now: t0, overlapSeconds: 3600).map(\.bytes) == [Self.old])
        #expect(ring.age(now: t0) == nil)  // undated until the daemon records when it first saw it
        ring.adopt(.init(bytes: Self.old, since: t0.adding(seconds: -100 * 86_400), origin: .feedsFile))
        #expect(ring.age(now: t0) == 8_640_000.0)
        ring.pending = .init(bytes: Self.new, since: t0, origin: .platform)
        #expect(ring.usable(now: t0, overlapSeconds: 3600).map(\.bytes) == [Self.old, Self.new])
        ring.adopt(.init(bytes: Self.new, since: t0, origin: .platform))
        #expect(ring.pending == nil && ring.current?.bytes == Self.new)
        #expect(ring.usable(now: t0.adding(seconds: 3599), overlapSeconds: 3600).map(\.bytes) == [Self.new, Self.old])
        #expect(ring.usable(now: t0.adding(seconds: 3600), overlapSeconds: 3600).map(\.bytes) == [Self.new])
        // The same key again changes nothing.
        let changed = ring.adopt(.init(bytes: Self.new, since: t0.adding(seconds: 10), origin: .device))
        #expect(!changed)
    }

    @Test func theKeyFileNamesDeviceAndFieldButNeverTheKey() throws {
        let keys = try HJ212KeyFile.decode(yaml: """
            devices:
              \(Self.mn):
                - {key: 30313233343536373839616263646566, since: "2026-09-01T00:00:00+08:00"}
                - {key: a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5}
            """)
        #expect(keys[Self.mn]?.map(\.bytes) == [Self.old, Self.new])
        #expect(keys[Self.mn]?.first?.since == Timestamp(rfc3339: "2026-09-01T00:00:00+08:00"))
        #expect { try HJ212KeyFile.decode(yaml: "devices:\n  X:\n    - {key: zz5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a}\n") } throws: {
            "\($0)".contains("devices.X[0].key") && !"\($0)".contains("zz5a")
        }
        #expect { try HJ212KeyFile.decode(yaml: "devices:\n  X:\n    - {key: a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5, since: yesterday}\n") } throws: {
            "\($0)".contains("since")
        }
    }
}
