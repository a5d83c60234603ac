import FuelModel

/// The canonical bytes of a record: what the chain hashes and the ledger stores as `body`.
///
/// Compact JSON, keys in a fixed order (`station`, `source`, `source_seq`, then the record's
/// fields in their wire order), times in UTC RFC 3339, integral numbers without a fraction and
/// other numbers in their shortest round-trip form. Two records with the same content therefore
/// have the same bytes whatever spelling (offsets, `20000.0`) the station sent.
public enum CanonicalEncoding {
    /// The canonical bytes of a record: what the chain hashes and what the ledger stores.
    public static func encode(station: String, source: RecordSource, sourceSeq: Int64, record: Record) -> [UInt8] {
        var out = ""
        out.reserveCapacity(512)
        out += "{\"station\":"
        JSONText.appendString(station, to: &out)
        out += ",\"source\":\"\(source.rawValue)\",\"source_seq\":\(sourceSeq)"
        for (name, value) in record.fields {
            out += ","
            JSONText.appendString(name, to: &out)
            out += ":"
            value.appendJSON(to: &out)
        }
        out += "}"
        return Array(out.utf8)
    }
}
