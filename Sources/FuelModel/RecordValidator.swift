/// Checks a decoded record against the station's registry entry: references exist and figures are
/// plausible. Anomalies that are real events (a backwards totalizer, a price above the ceiling) are
/// not rejected here: they are accepted into the ledger and flagged by the detectors.
public enum RecordValidator {
    /// Largest volume a single record may state; more is a unit or typing error.
    public static let maxVolumeL = 1_000_000.0

    /// Checks `record` against the station's registry entry (known tank, nozzle and grade, plausible figures); the error names the field.
    public static func validate(_ record: Record, station: Station) throws(FieldError) {
        let kind = record.kind.rawValue
        func f(_ name: String) -> String { "\(kind).\(name)" }
        func positive(_ v: Double, _ name: String) throws(FieldError) {
            guard v.isFinite, v > 0 else { throw FieldError(f(name), "must be a positive number, got \(v)") }
            guard v <= maxVolumeL else { throw FieldError(f(name), "\(v) is beyond any plausible value") }
        }
        func nonNegative(_ v: Double?, _ name: String) throws(FieldError) {
            guard let v else { return }
            guard v.isFinite else { throw FieldError(f(name), "must be a finite number") }
            guard v >= 0 else { throw FieldError(f(name), "must not be negative, got \(v)") }
            guard v <= maxVolumeL * 10 else { throw FieldError(f(name), "\(v) is beyond any plausible value") }
        }
        func finite(_ v: Double?, _ name: String) throws(FieldError) {
            guard let v else { return }
            guard v.isFinite else { throw FieldError(f(name), "must be a finite number") }
        }
        func tank(_ id: String, _ name: String = "tank") throws(FieldError) {
            guard station.tank(id) != nil else { throw FieldError(f(name), "unknown tank \(id)") }
        }
        func nozzle(_ id: String) throws(FieldError) -> Nozzle {
            guard let n = station.nozzle(id) else { throw FieldError(f("nozzle"), "unknown nozzle \(id)") }
            return n
        }
        func ordered(_ a: Timestamp, _ b: Timestamp) throws(FieldError) {
            guard a <= b else { throw FieldError(f("ended_at"), "is before started_at") }
            guard a.seconds(to: b) <= 86_400 else { throw FieldError(f("ended_at"), "is more than a day after started_at") }
        }

        switch record {
        case .sale(let s):
            let n = try nozzle(s.nozzle)
            if let t = station.tank(n.tank), t.grade != s.grade {
                throw FieldError(f("grade"), "nozzle \(s.nozzle) dispenses \(t.grade), not \(s.grade)")
            }
            try positive(s.volumeL, "volume_l")
            try positive(s.unitPrice, "unit_price")
            try nonNegative(s.amount, "amount")
            try nonNegative(s.totalizerStartL, "totalizer_start_l")
            try nonNegative(s.totalizerEndL, "totalizer_end_l")
            try ordered(s.startedAt, s.endedAt)
            // A receipt whose amount is not volume × price is a corrupted record, not an anomaly.
            let expected = s.volumeL * s.unitPrice
            guard abs(s.amount - expected) <= max(0.05, expected * 0.005) else {
                throw FieldError(f("amount"), "\(s.amount) is not volume_l × unit_price (\((expected * 100).rounded() / 100))")
            }
        case .delivery(let d):
            try tank(d.tank)
            guard !d.supplier.isEmpty else { throw FieldError(f("supplier"), "must not be empty") }
            guard !d.billNo.isEmpty else { throw FieldError(f("bill_no"), "must not be empty") }
            try positive(d.declaredVolumeL, "declared_volume_l")
            try finite(d.densityKgM3, "density_kg_m3")
            if let rho = d.densityKgM3, !(600...1100).contains(rho) {
                throw FieldError(f("density_kg_m3"), "\(rho) is not a fuel density")
            }
            try ordered(d.startedAt, d.endedAt)
        case .tankReading(let r):
            try tank(r.tank)
            try nonNegative(r.volumeL, "volume_l")
            try nonNegative(r.tcVolumeL, "tc_volume_l")
            try nonNegative(r.heightMM, "height_mm")
            try nonNegative(r.ullageL, "ullage_l")
            try nonNegative(r.waterMM, "water_mm")
            try finite(r.temperatureC, "temperature_c")
            if let t = r.temperatureC, !(-60...90).contains(t) {
                throw FieldError(f("temperature_c"), "\(t) °C is outside any tank's range")
            }
        case .totalizerReading(let r):
            _ = try nozzle(r.nozzle)
            try nonNegative(r.volumeTotalL, "volume_total_l")
            try nonNegative(r.amountTotal, "amount_total")
        case .vapourReading(let r):
            if let n = r.nozzle { _ = try nozzle(n) }
            if let t = r.tank { try tank(t) }
            guard r.nozzle != nil || r.tank != nil || r.device != nil else {
                throw FieldError(f("nozzle"), "a nozzle, a tank or a device is required")
            }
            guard r.alRatio != nil || r.pressurePa != nil || r.concentrationGM3 != nil || !r.factors.isEmpty else {
                throw FieldError(f("al_ratio"), "one of al_ratio, pressure_pa, concentration_g_m3 or factors is required")
            }
            try nonNegative(r.alRatio, "al_ratio")
            try finite(r.pressurePa, "pressure_pa")
            try nonNegative(r.concentrationGM3, "concentration_g_m3")
        case .deviceStatus(let s):
            guard !s.device.isEmpty else { throw FieldError(f("device"), "must not be empty") }
        case .priceChange(let p):
            guard station.tanks.contains(where: { $0.grade == p.grade }) else {
                throw FieldError(f("grade"), "station sells no grade \(p.grade)")
            }
            try positive(p.unitPrice, "unit_price")
        }
    }
}
