import FuelWire
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

    @Test func serialisationRoundTrips() throws {
        let text = #"{"k":"line\nnext\t\u0001","n":12.25,"i":7,"a":["x"]}"#
        let v = try JSONParser.parse(text)
        #expect(try JSONParser.parse(v.jsonText) == v)
    }
}
