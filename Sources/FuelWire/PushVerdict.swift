import FuelModel

/// The push endpoint's answer: how many lines were accepted, how many were duplicates, and why
/// each rejected line was rejected.
public struct PushVerdict: Hashable, Sendable {
    /// A refused line: its number, its seq if it had one, and why.
    public struct Rejection: Hashable, Sendable {
        /// 1-based line number in the request body.
        public var line: Int
        public var seq: Int64?
        public var error: String

        public init(line: Int, seq: Int64?, error: String) {
            self.line = line
            self.seq = seq
            self.error = error
        }
    }

    public var accepted: Int
    public var duplicates: Int
    public var rejected: [Rejection]

    public init(accepted: Int = 0, duplicates: Int = 0, rejected: [Rejection] = []) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
    }

    /// `{"accepted":2,"duplicates":1,"rejected":[{"line":3,"seq":43,"error":"…"}]}`
    public var jsonText: String {
        var rej: [JSONValue] = []
        for r in rejected {
            var o: [(String, JSONValue)] = [("line", .number(Double(r.line), exactInteger: Int64(r.line)))]
            if let s = r.seq { o.append(("seq", .number(Double(s), exactInteger: s))) }
            o.append(("error", .string(r.error)))
            rej.append(.object(o))
        }
        return JSONValue.object([
            ("accepted", .number(Double(accepted), exactInteger: Int64(accepted))),
            ("duplicates", .number(Double(duplicates), exactInteger: Int64(duplicates))),
            ("rejected", .array(rej)),
        ]).jsonText
    }

    /// Parses the endpoint's answer (used by the demo, the simulator and the benchmark).
    public init(jsonText: String) throws(FieldError) {
        let v: JSONValue
        do { v = try JSONParser.parse(jsonText) } catch { throw FieldError("verdict", error.description) }
        guard case .object(let pairs) = v else { throw FieldError("verdict", "not an object") }
        var accepted = 0, duplicates = 0
        var rejected: [Rejection] = []
        for (k, val) in pairs {
            switch (k, val) {
            case ("accepted", .number(_, let n?)): accepted = Int(n)
            case ("duplicates", .number(_, let n?)): duplicates = Int(n)
            case ("rejected", .array(let items)):
                for item in items {
                    guard case .object(let o) = item else { continue }
                    var line = 0, seq: Int64?, error = ""
                    for (rk, rv) in o {
                        switch (rk, rv) {
                        case ("line", .number(_, let n?)): line = Int(n)
                        case ("seq", .number(_, let n?)): seq = n
                        case ("error", .string(let s)): error = s
                        default: break
                        }
                    }
                    rejected.append(Rejection(line: line, seq: seq, error: error))
                }
            default: break
            }
        }
        self.init(accepted: accepted, duplicates: duplicates, rejected: rejected)
    }
}
