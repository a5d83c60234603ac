import FuelWire
import PropertyBased
import Testing

@Suite struct JSONParserTests {
    @Test func parsesValuesOfEveryKind() throws {
        let v = try JSONParser.parse(#"{"a":1,"b":-2.5e1,"c":"x\"y\u00e9\ud83d\ude00","d":[true,false,null],"e":{}}"#)
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o.map(\.0) == ["a", "b", "c", "d", "e"])
        #expect(o[0].1 == .number(1, exactInteger: 1))
        #expect(o[1].1 == .number(-25, exactInteger: nil))
        #expect(o[2].1 == .string("x\"yé😀"))
        #expect(o[3].1 == .array([.bool(true), .bool(false), .null]))
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "{\"a\":1,}", "[1 2]", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "{\"a\":1} x", "tru",
        "\"a\nb\"", String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
    ])
    func rejectsInvalidText(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    /// Numbers read without a string (short decimals) and through `Double(text)` (the rest) give the very
    /// double `Double(text)` gives, sign of zero included, and integers their exact value.
    @Test func numbersReadAsTheStandardLibraryReadsThem() async throws {
        func check(_ text: String) {
            guard case .number(let d, let exact)? = try? JSONParser.parse(text) else {
                Issue.record("\(text) did not parse as a number")
                return
            }
            #expect(d.bitPattern == Double(text)!.bitPattern, "\(text)")
            #expect(exact == (text.contains { ".eE".contains($0) } ? nil : Int64(text)), "\(text)")
        }
        for text in ["0", "-0", "-0.0", "0.1", "0.30000000000000004", "999999999999999", "9999999999999999",
                     "123456789012345.5", "1.000000000000001", "9007199254740993", "-12.5", "7.90", "20000.000",
                     "0.000000000000001", "0.0000000000000001", "1e3", "-2.5E-1", "9223372036854775807"] {
            check(text)
        }
        let digits = Gen.int(in: 0...9).array(of: 1...18)
        await propertyCheck(count: 2_000, input: Gen.bool, digits, digits, Gen.int(in: 0...3)) { negative, whole, fraction, shape in
            let w = whole.first == 0 ? "0" : whole.map(String.init).joined()
            var text = (negative ? "-" : "") + w
            if shape >= 1 { text += "." + fraction.map(String.init).joined() }
            if shape == 3 { text += "e-\(fraction.count)" }
            check(text)
        }
    }

    @Test func serialisationRoundTrips() throws {
        let text = #"{"k":"line\nnext\t\u0001","n":12.25,"i":7,"a":["x"]}"#
        let v = try JSONParser.parse(text)
        #expect(try JSONParser.parse(v.jsonText) == v)
    }
}
