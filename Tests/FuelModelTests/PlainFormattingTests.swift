import Foundation
import FuelModel
import PropertyBased
import Testing

/// `PlainFormat` and the trimming helpers against what Foundation's `String(format:)` and
/// `trimmingCharacters` give for the same input (the agent uses ours, being built without them).
@Suite struct PlainFormattingTests {
    @Test func fixedPointAsPrintfWritesIt() {
        #expect(PlainFormat.fixed(3.14159, decimals: 1) == "3.1")
        #expect(PlainFormat.fixed(-0.04, decimals: 1) == "0.0")  // printf writes "-0.0"; no sign on a zero we print
        #expect(PlainFormat.fixed(12, decimals: 0, plusSign: true) == "+12")
        #expect(PlainFormat.fixed(-12.5, decimals: 0, plusSign: true) == "-13")
        #expect(PlainFormat.fixed(0.001, decimals: 3) == "0.001")
        #expect(PlainFormat.fixed(.nan, decimals: 1) == "nan")
        #expect(PlainFormat.fixed(-.infinity, decimals: 1) == "-inf")
    }

    /// Random values at random precision: the same text as `%.Nf` / `%+.Nf`, except where the two
    /// roundings of a halfway value differ (printf rounds the binary value half to even; the last
    /// digit then differs by one) and the sign printf keeps on a value that rounds to zero.
    @Test func fixedPointMatchesStringFormat() async {
        await propertyCheck(count: 2000, input: Gen.int(in: -2_000_000_000...2_000_000_000), Gen.int(in: 0...6), Gen.int(in: 0...1)) { n, decimals, plus in
            let x = Double(n) / 997
            let ours = PlainFormat.fixed(x, decimals: decimals, plusSign: plus == 1)
            let theirs = String(format: plus == 1 ? "%+.\(decimals)f" : "%.\(decimals)f", x)
            if ours != theirs {
                let unit = pow(10, Double(-decimals))
                let gap = abs((Double(ours) ?? .nan) - (Double(theirs) ?? .nan))
                #expect(gap <= unit * 1.000001 || theirs.hasPrefix("-0") && ours.allSatisfy { "+0.".contains($0) }, "\(x): \(ours) against \(theirs)")
            }
        }
    }

    @Test func paddingHexAndOctal() async {
        #expect(PlainFormat.padded(7, width: 3) == "007" && PlainFormat.padded(12345, width: 3) == "12345")
        #expect(PlainFormat.octal(0o644) == "644")
        await propertyCheck(count: 500, input: Gen.int(in: 0...255).array(of: 0...40)) { bytes in
            #expect(PlainFormat.hex(bytes.map(UInt8.init)) == bytes.map { String(format: "%02x", $0) }.joined())
        }
    }

    @Test(arguments: ["  a b  ", "\ta\t", "a", "", "   ", " \n a \n ", "\u{3000}站\u{00A0}"])
    func trimmingAsFoundationTrims(text: String) {
        #expect(text.trimmingWhiteSpace() == text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(text.trimmingBlanks() == text.trimmingCharacters(in: .whitespaces))
    }
}
