import FuelModel
import PropertyBased
import Testing

@Suite struct VolumeCorrectionTests {
    @Test func factorIsOneAtReferenceAndFallsWithTemperature() {
        #expect(abs(VolumeCorrection.factor(temperatureC: 20, grade: "92") - 1) < 1e-12)
        #expect(VolumeCorrection.factor(temperatureC: 30, grade: "92") < 1)
        #expect(VolumeCorrection.factor(temperatureC: 5, grade: "92") > 1)
    }

    @Test func gasolineExpandsMoreThanDiesel() {
        // Typical coefficients: gasoline ≈ 0.0012 /°C, diesel ≈ 0.0008 /°C.
        let g = 1 - VolumeCorrection.factor(temperatureC: 30, grade: "92")
        let d = 1 - VolumeCorrection.factor(temperatureC: 30, grade: "0")
        #expect(g > 0.011 && g < 0.014)
        #expect(d > 0.007 && d < 0.0095)
    }

    @Test func conversionIsMonotoneInTemperature() async {
        await propertyCheck(input: Gen.double(in: -30...50), Gen.double(in: 0.1...5)) { t, dt in
            #expect(VolumeCorrection.to20C(volumeL: 1000, temperatureC: t + dt, grade: "95")
                < VolumeCorrection.to20C(volumeL: 1000, temperatureC: t, grade: "95"))
        }
    }

    @Test func dieselGradesAreKnownByTheirNames() {
        for diesel in ["0#", "-10#", "-35#", "柴油", "0#柴油", "Diesel", "B5 DIESEL", "auto diesel"] {
            #expect(VolumeCorrection.isDiesel(diesel), "\(diesel)")
        }
        for petrol in ["92#", "95#", "98#", "E92", "汽油", "", "D", "diesl", "98 premium"] {
            #expect(!VolumeCorrection.isDiesel(petrol), "\(petrol)")
        }
    }

    @Test func theFastCheckAgreesWithTheLowercasedOne() async {
        // Property: the byte checks answer as the plain lowercased test does, on any grade text.
        let alphabet = Array("0-#9285dDiIeEsSlL柴油汽 ")
        await propertyCheck(input: Gen.int(in: 0...alphabet.count - 1).array(of: 0...10)) { picks in
            let grade = String(picks.map { alphabet[$0] })
            let g = grade.lowercased()
            let plain = g.hasPrefix("0") || g.hasPrefix("-") || g.contains("diesel") || g.contains("柴")
            #expect(VolumeCorrection.isDiesel(grade) == plain, "\(grade)")
        }
    }

    @Test func aGradesTypicalDensityIsTheOneUsedWithoutADeclaredOne() {
        #expect(VolumeCorrection.factor(temperatureC: 30, grade: "0#", densityKgM3: 835) == VolumeCorrection.factor(temperatureC: 30, grade: "0#"))
        #expect(VolumeCorrection.factor(temperatureC: 30, grade: "92#", densityKgM3: 740) == VolumeCorrection.factor(temperatureC: 30, grade: "92#"))
    }
}
