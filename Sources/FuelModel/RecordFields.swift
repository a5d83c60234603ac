/// A field value in a record's flat wire form.
public enum FieldValue: Hashable, Sendable {
    case string(String)
    case number(Double)
    case integer(Int64)
    case strings([String])
}

extension FieldValue {
    /// Appends the value as compact JSON (the canonical spelling of strings and numbers).
    public func appendJSON(to out: inout String) {
        switch self {
        case .string(let s): JSONText.appendString(s, to: &out)
        case .number(let d): out += JSONText.number(d)
        case .integer(let i): out += String(i)
        case .strings(let a):
            out += "["
            for (n, s) in a.enumerated() {
                if n > 0 { out += "," }
                JSONText.appendString(s, to: &out)
            }
            out += "]"
        }
    }
}

/// One field's value as ``Record/forEachField(_:)`` hands it over: what ``FieldValue`` holds,
/// with times still as ``Timestamp`` (the canonical encoding writes them straight into bytes).
public enum FieldRef {
    case string(String)
    case number(Double)
    case integer(Int64)
    case time(Timestamp)
    case strings([String])

    /// The value in its flat wire form (times as RFC 3339 strings).
    public var value: FieldValue {
        switch self {
        case .string(let s): .string(s)
        case .number(let d): .number(d)
        case .integer(let i): .integer(i)
        case .time(let t): .string(t.rfc3339)
        case .strings(let a): .strings(a)
        }
    }
}

extension Record {
    /// The record's fields under their wire names (the push contract), `kind` first, absent
    /// optionals omitted. The NDJSON codec and the ledger's canonical encoding both read this,
    /// so a field has one name everywhere.
    public var fields: [(name: String, value: FieldValue)] {
        var out: [(name: String, value: FieldValue)] = []
        out.reserveCapacity(12)
        forEachField { name, value in out.append((name.description, value.value)) }
        return out
    }

    /// Visits ``fields`` in their order without building the list (the canonical encoding runs for
    /// every record the ledger appends).
    public func forEachField(_ visit: (_ name: StaticString, _ value: FieldRef) -> Void) {
        visit("kind", .string(kind.rawValue))
        func s(_ n: StaticString, _ v: String?) { if let v { visit(n, .string(v)) } }
        func d(_ n: StaticString, _ v: Double?) { if let v { visit(n, .number(v)) } }
        func t(_ n: StaticString, _ v: Timestamp) { visit(n, .time(v)) }
        switch self {
        case .sale(let x):
            s("nozzle", x.nozzle); s("grade", x.grade); d("volume_l", x.volumeL); d("unit_price", x.unitPrice)
            d("amount", x.amount); t("started_at", x.startedAt); t("ended_at", x.endedAt)
            d("totalizer_start_l", x.totalizerStartL); d("totalizer_end_l", x.totalizerEndL); s("receipt_no", x.receiptNo)
        case .delivery(let x):
            s("tank", x.tank); s("supplier", x.supplier); s("batch", x.batch); s("bill_no", x.billNo)
            s("grade", x.grade); d("declared_volume_l", x.declaredVolumeL); d("density_kg_m3", x.densityKgM3)
            s("vehicle", x.vehicle); t("started_at", x.startedAt); t("ended_at", x.endedAt)
        case .tankReading(let x):
            s("tank", x.tank); t("at", x.at); d("volume_l", x.volumeL); d("tc_volume_l", x.tcVolumeL)
            d("height_mm", x.heightMM); d("ullage_l", x.ullageL); d("water_mm", x.waterMM)
            d("temperature_c", x.temperatureC)
            if let st = x.status { visit("status", .integer(Int64(st))) }
        case .totalizerReading(let x):
            s("nozzle", x.nozzle); t("at", x.at); d("volume_total_l", x.volumeTotalL); d("amount_total", x.amountTotal)
        case .vapourReading(let x):
            s("nozzle", x.nozzle); s("tank", x.tank); s("device", x.device); t("at", x.at); d("al_ratio", x.alRatio)
            d("pressure_pa", x.pressurePa); d("concentration_g_m3", x.concentrationGM3)
            if !x.factors.isEmpty { visit("factors", .strings(x.factors)) }
        case .deviceStatus(let x):
            s("device", x.device); t("at", x.at); s("state", x.state.rawValue)
            visit("codes", .strings(x.codes))
        case .priceChange(let x):
            s("grade", x.grade); d("unit_price", x.unitPrice); t("effective_at", x.effectiveAt)
        }
    }
}
