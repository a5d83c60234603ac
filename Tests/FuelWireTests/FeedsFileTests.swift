import FuelModel
import FuelWire
import Testing

/// The feeds file's HJ 212 device entries: an SM4 key is 32 hex digits, and an unusable one is
/// refused naming its device and field without repeating the secret.
@Suite struct FeedsFileTests {
    static func devices(_ key: String) -> String {
        """
        hj212_devices:
          - {mn: 4A7F00C3B2E14D9A0F6C2B18, station: LN-SY-0001, password: "123456", sm4_key: "\(key)"}
          - {mn: VR0001, station: LN-SY-0001, password: "123456"}
        """
    }

    @Test func anSM4KeyIsReadAsSixteenBytes() throws {
        let f = try FeedsFileDecoder.decode(yaml: Self.devices("30313233343536373839616263646566"))
        #expect(f.devices.first?.sm4Key == Array("0123456789abcdef".utf8))
        #expect(f.devices.last?.sm4Key == nil)  // a 2017 device: plain CP
    }

    @Test(arguments: ["3031", "zz313233343536373839616263646566", "30313233343536373839616263646566aa"])
    func anUnusableKeyIsNamedNotRepeated(key: String) throws {
        #expect { try FeedsFileDecoder.decode(yaml: Self.devices(key)) } throws: { error in
            let text = "\(error)"
            return text.contains("hj212_devices[0]") && text.contains("sm4_key") && text.contains("32 hexadecimal digits") && !text.contains(key)
        }
    }
}
