import Foundation

/// A horizontal cylindrical underground tank (length 2.5 × diameter) and how the real tank departs
/// from its strapping chart: the gauge turns height into volume with the nominal chart, while the
/// steel (tilt, deformation, end caps) holds `nominal × (1 + chartError(h))`. The error is a few
/// tenths of a percent and depends on the level, so a gauge's volumes are slightly off in a way a
/// fixed per-day tolerance does not model.
struct TankGeometry: Sendable {
    let capacityL: Double
    let diameterMM: Double
    let lengthMM: Double
    /// Chart error shape: `bow · sin(πh/D) + tilt · (h/D − ½)`.
    let bow: Double
    let tilt: Double

    init(capacityL: Double, bow: Double = 0, tilt: Double = 0) {
        self.capacityL = capacityL
        // V = π D² / 4 · 2.5 D  (mm³ → L: 1e-6)
        diameterMM = cbrt(capacityL * 1e6 * 4 / (2.5 * .pi))
        lengthMM = 2.5 * diameterMM
        self.bow = bow
        self.tilt = tilt
    }

    /// Volume the strapping chart gives for a height.
    func nominalVolume(heightMM h: Double) -> Double {
        let r = diameterMM / 2
        let hh = min(max(h, 0), diameterMM)
        let segment = r * r * acos((r - hh) / r) - (r - hh) * sqrt(max(0, 2 * r * hh - hh * hh))
        return segment * lengthMM * 1e-6
    }

    func chartError(heightMM h: Double) -> Double {
        let x = min(max(h / diameterMM, 0), 1)
        return bow * sin(.pi * x) + tilt * (x - 0.5)
    }

    /// The real tank's volume at a height.
    func trueVolume(heightMM h: Double) -> Double { nominalVolume(heightMM: h) * (1 + chartError(heightMM: h)) }

    /// The height at which the real tank holds `volumeL` (bisection; the volume is monotonic in height).
    func height(trueVolumeL v: Double) -> Double {
        var lo = 0.0, hi = diameterMM
        for _ in 0..<40 {
            let mid = (lo + hi) / 2
            if trueVolume(heightMM: mid) < v { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// The same, starting from a nearby height (the last reading's): a few Newton steps on the
    /// chart's slope, falling back to bisection near the top and bottom where the slope vanishes.
    func height(trueVolumeL v: Double, near guess: Double) -> Double {
        var h = guess
        let r = diameterMM / 2
        for _ in 0..<4 {
            let chord = 2 * sqrt(max(0, 2 * r * h - h * h))
            let slope = chord * lengthMM * 1e-6
            guard slope > 1, h > 0, h < diameterMM else { return height(trueVolumeL: v) }
            let step = (trueVolume(heightMM: h) - v) / slope
            h -= step
            if abs(step) < 1e-4 { return min(max(h, 0), diameterMM) }
        }
        return height(trueVolumeL: v)
    }
}
