import FuelModel

/// The canonical bytes of a record: what the chain hashes and the ledger stores as `body`.
///
/// Compact JSON, keys in a fixed order (`station`, `source`, `source_seq`, then the record's
/// fields in their wire order), times in UTC RFC 3339, integral numbers without a fraction and
/// other numbers in their shortest round-trip form. Two records with the same content therefore
/// have the same bytes whatever spelling (offsets, `20000.0`) the station sent.
public enum CanonicalEncoding {
    /// The canonical bytes of a record: what the chain hashes and what the ledger stores.
    ///
    /// Written byte by byte from the record's fields (no intermediate strings or field list): it runs
    /// for every record appended, and the push path's CPU is what bounds ingest (issue 19).
    public static func encode(station: String, source: RecordSource, sourceSeq: Int64, record: Record) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        JSONText.append("{\"station\":", to: &out)
        JSONText.appendString(station, to: &out)
        JSONText.append(",\"source\":\"", to: &out)
        out.append(contentsOf: source.rawValue.utf8)
        JSONText.append("\",\"source_seq\":", to: &out)
        JSONText.appendInteger(sourceSeq, to: &out)
        record.forEachField { name, value in
            JSONText.append(",\"", to: &out)
            JSONText.append(name, to: &out)
            JSONText.append("\":", to: &out)
            value.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

extension FieldRef {
    /// Appends the value as compact JSON bytes (the canonical spelling of strings, numbers and times).
    func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONText.appendString(s, to: &out)
        case .number(let d): JSONText.appendNumber(d, to: &out)
        case .integer(let i): JSONText.appendInteger(i, to: &out)
        case .time(let t):
            out.append(0x22)
            t.appendRFC3339(to: &out)
            out.append(0x22)
        case .strings(let a):
            out.append(UInt8(ascii: "["))
            for (n, s) in a.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendString(s, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }
}
