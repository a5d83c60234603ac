import FuelModel

/// One line of a push request: the station's sequence number and the record.
public struct PushLine: Hashable, Sendable {
    public var seq: Int64
    public var record: Record

    public init(seq: Int64, record: Record) {
        self.seq = seq
        self.record = record
    }
}

/// A line that is not a valid record, with its `seq` when it could be read.
public struct PushLineError: Error, Hashable, Sendable, CustomStringConvertible {
    public var seq: Int64?
    public var error: FieldError
    public init(seq: Int64?, error: FieldError) {
        self.seq = seq
        self.error = error
    }
    public var description: String { error.description }
}

/// The push contract's NDJSON line format (`POST /v1/stations/{station}/records`).
///
/// Field names are those of ``FuelModel/Record/fields``. Unknown fields are ignored so that a
/// station's collector may send more than the contract asks; a known field of the wrong type,
/// a missing required field or an unparsable time is a ``FieldError`` naming `kind.field`.
public enum PushRecordCodec {
    /// Decodes one line (without its newline). The error carries the line's `seq` when it had one.
    public static func decode(_ line: some Collection<UInt8>) throws(PushLineError) -> PushLine {
        var obj: FieldReader
        do {
            obj = try fields(line)
        } catch {
            throw PushLineError(seq: nil, error: error)
        }
        let seq: Int64
        do {
            seq = try obj.seq()
        } catch {
            throw PushLineError(seq: nil, error: error)
        }
        do {
            return PushLine(seq: seq, record: try record(&obj))
        } catch {
            throw PushLineError(seq: seq, error: error)
        }
    }

    /// Decodes a ledger body (the canonical form: the record's fields plus station and source).
    public static func decodeBody(_ body: some Collection<UInt8>) throws(FieldError) -> Record {
        var obj = try fields(body)
        return try record(&obj)
    }

    private static func fields(_ bytes: some Collection<UInt8>) throws(FieldError) -> FieldReader {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw FieldError("line", error.description)
        }
        guard case .object(let pairs) = value else { throw FieldError("line", "expected a JSON object, got \(value.typeName)") }
        // A record has a dozen fields: they are looked up by a scan of the pairs, which costs less than
        // hashing every key into a dictionary (the push path's parse, issue 19). A line with many
        // more fields (unknown ones are allowed) is checked for repeats through a set instead.
        if pairs.count <= FieldReader.scanLimit {
            for i in pairs.indices where pairs[..<i].contains(where: { $0.0 == pairs[i].0 }) {
                throw FieldError("record.\(pairs[i].0)", "appears twice")
            }
        } else {
            var seen = Set<String>()
            for (k, _) in pairs where !seen.insert(k).inserted { throw FieldError("record.\(k)", "appears twice") }
        }
        return FieldReader(kind: "record", pairs: pairs)
    }

    private static func record(_ obj: inout FieldReader) throws(FieldError) -> Record {
        let kindText = try obj.string("kind")
        guard let kind = RecordKind(rawValue: kindText) else {
            throw FieldError("kind", "unknown kind \"\(kindText)\" (expected one of \(RecordKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        obj.kind = kind.rawValue
        let record: Record
        switch kind {
        case .sale:
            record = .sale(Sale(
                nozzle: try obj.string("nozzle"), grade: try obj.string("grade"),
                volumeL: try obj.number("volume_l"), unitPrice: try obj.number("unit_price"),
                amount: try obj.number("amount"), startedAt: try obj.time("started_at"), endedAt: try obj.time("ended_at"),
                totalizerStartL: try obj.optionalNumber("totalizer_start_l"),
                totalizerEndL: try obj.optionalNumber("totalizer_end_l"), receiptNo: try obj.optionalString("receipt_no")))
        case .delivery:
            let density = try obj.optionalNumber("density_kg_m3")
            let densityAlias = try obj.optionalNumber("density")
            record = .delivery(Delivery(
                tank: try obj.string("tank"), supplier: try obj.string("supplier"), batch: try obj.optionalString("batch"),
                billNo: try obj.string("bill_no"), grade: try obj.string("grade"),
                declaredVolumeL: try obj.number("declared_volume_l"),
                densityKgM3: density ?? densityAlias,
                vehicle: try obj.optionalString("vehicle"), startedAt: try obj.time("started_at"),
                endedAt: try obj.time("ended_at")))
        case .tankReading:
            record = .tankReading(TankReading(
                tank: try obj.string("tank"), at: try obj.time("at"), volumeL: try obj.number("volume_l"),
                tcVolumeL: try obj.optionalNumber("tc_volume_l"), heightMM: try obj.optionalNumber("height_mm"),
                ullageL: try obj.optionalNumber("ullage_l"), waterMM: try obj.optionalNumber("water_mm"),
                temperatureC: try obj.optionalNumber("temperature_c"), status: try obj.optionalInt("status")))
        case .totalizerReading:
            record = .totalizerReading(TotalizerReading(
                nozzle: try obj.string("nozzle"), at: try obj.time("at"), volumeTotalL: try obj.number("volume_total_l"),
                amountTotal: try obj.optionalNumber("amount_total")))
        case .vapourReading:
            record = .vapourReading(VapourReading(
                nozzle: try obj.optionalString("nozzle"), tank: try obj.optionalString("tank"),
                device: try obj.optionalString("device"), at: try obj.time("at"),
                alRatio: try obj.optionalNumber("al_ratio"), pressurePa: try obj.optionalNumber("pressure_pa"),
                concentrationGM3: try obj.optionalNumber("concentration_g_m3"),
                factors: try obj.strings("factors")))
        case .deviceStatus:
            let stateText = try obj.string("state")
            guard let state = DeviceStatus.State(rawValue: stateText) else {
                throw FieldError("device_status.state", "must be online, offline or alarm, got \"\(stateText)\"")
            }
            record = .deviceStatus(DeviceStatus(
                device: try obj.string("device"), at: try obj.time("at"), state: state, codes: try obj.strings("codes")))
        case .priceChange:
            record = .priceChange(PriceChange(
                grade: try obj.string("grade"), unitPrice: try obj.number("unit_price"),
                effectiveAt: try obj.time("effective_at")))
        }
        return record
    }

    /// Encodes a line as the push contract expects it (no trailing newline).
    public static func encode(_ line: PushLine) -> String {
        var out = "{\"seq\":\(line.seq)"
        for (name, value) in line.record.fields {
            out += ","
            JSONText.appendString(name, to: &out)
            out += ":"
            value.json.write(to: &out)
        }
        out += "}"
        return out
    }
}

extension FieldValue {
    /// The value as JSON.
    public var json: JSONValue {
        switch self {
        case .string(let s): .string(s)
        case .number(let d): .number(d, exactInteger: nil)
        case .integer(let i): .number(Double(i), exactInteger: i)
        case .strings(let a): .array(a.map { .string($0) })
        }
    }
}

/// Typed access to a decoded object's fields with errors that name `kind.field`.
struct FieldReader {
    var kind: String
    /// The object's fields in their order, each name once.
    let pairs: [(String, JSONValue)]
    /// Objects with at most this many fields are checked for a repeated name pair by pair.
    static let scanLimit = 32

    init(kind: String, pairs: [(String, JSONValue)]) {
        self.kind = kind
        self.pairs = pairs
    }

    private func value(_ name: String) -> JSONValue? {
        // Lengths first: most names differ in length, and comparing two counts is cheaper than two strings.
        let length = name.utf8.count
        for (k, v) in pairs where k.utf8.count == length && k == name { return v }
        return nil
    }

    private func present(_ name: String) -> JSONValue? {
        switch value(name) {
        case .none, .some(.null): nil
        case .some(let v): v
        }
    }

    private func err(_ name: String, _ m: String) -> FieldError { FieldError("\(kind).\(name)", m) }

    func seq() throws(FieldError) -> Int64 {
        guard let v = value("seq") else { throw FieldError("seq", "missing") }
        guard case .number(_, let exact?) = v, exact >= 0 else {
            throw FieldError("seq", "must be a non-negative integer, got \(v.jsonText)")
        }
        return exact
    }

    func string(_ name: String) throws(FieldError) -> String {
        guard let v = try optionalString(name) else { throw err(name, "missing") }
        return v
    }

    func optionalString(_ name: String) throws(FieldError) -> String? {
        guard let v = present(name) else { return nil }
        guard case .string(let s) = v else { throw err(name, "expected a string, got \(v.typeName)") }
        guard !s.isEmpty else { throw err(name, "must not be empty") }
        guard s.utf8.count <= 200 else { throw err(name, "longer than 200 bytes") }
        return s
    }

    func number(_ name: String) throws(FieldError) -> Double {
        guard let v = try optionalNumber(name) else { throw err(name, "missing") }
        return v
    }

    func optionalNumber(_ name: String) throws(FieldError) -> Double? {
        guard let v = present(name) else { return nil }
        guard case .number(let d, _) = v else { throw err(name, "expected a number, got \(v.typeName)") }
        return d
    }

    func optionalInt(_ name: String) throws(FieldError) -> Int? {
        guard let v = present(name) else { return nil }
        guard case .number(_, let exact?) = v, let i = Int(exactly: exact) else {
            throw err(name, "expected an integer, got \(v.jsonText)")
        }
        return i
    }

    func time(_ name: String) throws(FieldError) -> Timestamp {
        let s = try string(name)
        guard let t = Timestamp(rfc3339: s) else {
            throw err(name, "\"\(s)\" is not an RFC 3339 time with offset (e.g. 2026-11-01T08:00:00+08:00)")
        }
        return t
    }

    func strings(_ name: String) throws(FieldError) -> [String] {
        guard let v = present(name) else { return [] }
        guard case .array(let items) = v else { throw err(name, "expected an array of strings, got \(v.typeName)") }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw err(name, "expected an array of strings") }
            out.append(s)
        }
        return out
    }
}
