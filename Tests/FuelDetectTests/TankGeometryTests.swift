import PropertyBased
import Testing

@testable import FuelSim

/// The simulator's tank: the chart's volume is monotonic in height, full at the diameter, and the
/// height found for a volume (by bisection, or by Newton steps from a nearby height) gives it back.
@Suite struct TankGeometryTests {
    let tank = TankGeometry(capacityL: 30_000, bow: 0.0012, tilt: -0.0008)

    @Test func theChartFillsToCapacityAndRisesWithHeight() {
        #expect(abs(tank.nominalVolume(heightMM: tank.diameterMM) - 30_000) < 0.01)
        #expect(tank.nominalVolume(heightMM: 0) == 0)
        var last = -1.0
        for h in stride(from: 0.0, through: tank.diameterMM, by: 10) {
            let v = tank.trueVolume(heightMM: h)
            #expect(v > last)
            last = v
        }
        // The steel departs from the chart by tenths of a percent, not more.
        let mid = tank.diameterMM / 2
        #expect(abs(tank.trueVolume(heightMM: mid) / tank.nominalVolume(heightMM: mid) - 1) < 0.003)
    }

    @Test func heightForAVolumeGivesTheVolumeBack() async {
        await propertyCheck(input: Gen.int(in: 300...29_700), Gen.int(in: -200...200)) { litres, offset in
            let v = Double(litres)
            let h = tank.height(trueVolumeL: v)
            #expect(abs(tank.trueVolume(heightMM: h) - v) < 0.01)
            let newton = tank.height(trueVolumeL: v, near: min(max(h + Double(offset), 1), tank.diameterMM - 1))
            #expect(abs(newton - h) < 0.01)
        }
    }
}
