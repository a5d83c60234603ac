import FuelModel
import Testing

@Suite struct RecordValidatorTests {
    let station = Station(
        id: "LN-SY-0001", name: "测试站", city: "210100",
        tanks: [Tank(id: "T1", grade: "92", capacityL: 30000), Tank(id: "T2", grade: "95", capacityL: 20000)],
        nozzles: [Nozzle(id: "N1", tank: "T1", maxFlowLPM: 50), Nozzle(id: "N2", tank: "T2", maxFlowLPM: 50)])
    let t0 = Timestamp(rfc3339: "2026-11-01T08:00:00Z")!

    func sale(nozzle: String = "N1", grade: String = "92", volume: Double = 35.2, price: Double = 7.85, amount: Double? = nil,
              seconds: Double = 57) -> Record {
        .sale(Sale(nozzle: nozzle, grade: grade, volumeL: volume, unitPrice: price, amount: amount ?? (volume * price * 100).rounded() / 100,
                   startedAt: t0, endedAt: t0.adding(seconds: seconds)))
    }

    func error(_ r: Record) -> String? {
        do {
            try RecordValidator.validate(r, station: station)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func acceptsAPlainSale() {
        #expect(error(sale()) == nil)
    }

    @Test func namesTheFieldOfEachProblem() {
        #expect(error(sale(nozzle: "N9")) == "sale.nozzle: unknown nozzle N9")
        #expect(error(sale(grade: "95")) == "sale.grade: nozzle N1 dispenses 92, not 95")
        #expect(error(sale(volume: -1, amount: 0))?.hasPrefix("sale.volume_l:") == true)
        #expect(error(sale(amount: 1))?.hasPrefix("sale.amount:") == true)
        #expect(error(sale(seconds: -5))?.hasPrefix("sale.ended_at:") == true)
        let delivery = Record.delivery(Delivery(tank: "T9", supplier: "SUP-001", batch: "B", billNo: "BL-1", grade: "92",
                                                declaredVolumeL: 20000, startedAt: t0, endedAt: t0.adding(seconds: 1800)))
        #expect(error(delivery) == "delivery.tank: unknown tank T9")
        #expect(error(.tankReading(TankReading(tank: "T1", at: t0, volumeL: 100, temperatureC: 300)))?.hasPrefix("tank_reading.temperature_c:") == true)
        #expect(error(.priceChange(PriceChange(grade: "98", unitPrice: 9, effectiveAt: t0))) == "price_change.grade: station sells no grade 98")
        #expect(error(.vapourReading(VapourReading(nozzle: "N1", at: t0)))?.hasPrefix("vapour_reading.al_ratio:") == true)
    }

    @Test func anomaliesThatAreRealEventsAreNotRejected() {
        // Impossible flow and prices above a ceiling are for the detectors, not validation.
        #expect(error(sale(volume: 300, seconds: 10)) == nil)
        #expect(error(sale(price: 99)) == nil)
    }
}

@Suite struct RegistryTests {
    @Test func cityCeilingBeatsProvinceAndLatestFromWins() {
        let r = Registry(priceCeilings: [
            PriceCeiling(region: "210000", grade: "92", unitPrice: 8.05, from: CivilDate(year: 2026, month: 11, day: 1)),
            PriceCeiling(region: "210000", grade: "92", unitPrice: 8.20, from: CivilDate(year: 2026, month: 11, day: 15)),
            PriceCeiling(region: "210200", grade: "92", unitPrice: 7.95, from: CivilDate(year: 2026, month: 11, day: 1)),
        ])
        #expect(r.ceiling(grade: "92", city: "210100", on: CivilDate(year: 2026, month: 11, day: 10))?.unitPrice == 8.05)
        #expect(r.ceiling(grade: "92", city: "210100", on: CivilDate(year: 2026, month: 11, day: 20))?.unitPrice == 8.20)
        #expect(r.ceiling(grade: "92", city: "210200", on: CivilDate(year: 2026, month: 11, day: 20))?.unitPrice == 7.95)
        #expect(r.ceiling(grade: "92", city: "210100", on: CivilDate(year: 2026, month: 10, day: 31)) == nil)
        #expect(r.ceiling(grade: "95", city: "210100", on: CivilDate(year: 2026, month: 11, day: 10)) == nil)
    }
}
