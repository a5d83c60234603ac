#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc  // exp(): FoundationEssentials does not re-export the C library's maths
#endif

/// Thermal volume correction of petroleum products to the 20 °C reference (GB/T 1885, after
/// ASTM D1250 tables 54B/60B): `VCF = exp(-α·ΔT·(1 + 0.8·α·ΔT))` with `α = K0/ρ² + K1/ρ`.
public enum VolumeCorrection {
    /// Density at 20 °C typical of a grade when a delivery does not state one (kg/m³).
    public static func typicalDensity(grade: String) -> Double {
        typicalDensity(diesel: isDiesel(grade))
    }

    static func typicalDensity(diesel: Bool) -> Double { diesel ? 835 : 740 }

    /// Whether a grade is diesel (柴油, `0#`, `-10#`, …), which corrects to 20 °C with its own coefficients.
    public static func isDiesel(_ grade: String) -> Bool {
        // Asked for every sale and reading corrected to 20 °C: the usual grades (`92#`, `0#`) answer
        // from their bytes; only a grade with a `d` in it pays for the lowercased copy "diesel" needs.
        // (Lowercasing every time was 2.9 % of an end-to-end run's samples.)
        let bytes = grade.utf8
        if let first = bytes.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "-") { return true }
        if grade.contains("柴") { return true }
        guard bytes.contains(where: { $0 | 0x20 == UInt8(ascii: "d") }) else { return false }
        return grade.lowercased().contains("diesel")
    }

    /// Thermal expansion coefficient per °C at the reference temperature.
    public static func alpha(densityKgM3 rho: Double, diesel: Bool) -> Double {
        let (k0, k1) = diesel ? (186.9696, 0.4862) : (346.4228, 0.4388)
        return k0 / (rho * rho) + k1 / rho
    }

    /// Factor that turns a volume at `temperatureC` into the volume at 20 °C.
    public static func factor(temperatureC: Double, grade: String, densityKgM3: Double? = nil) -> Double {
        let diesel = isDiesel(grade)
        let a = alpha(densityKgM3: densityKgM3 ?? typicalDensity(diesel: diesel), diesel: diesel)
        let dt = temperatureC - 20
        return exp(-a * dt * (1 + 0.8 * a * dt))
    }

    /// Volume at 20 °C of `volumeL` measured at `temperatureC`.
    public static func to20C(volumeL: Double, temperatureC: Double, grade: String, densityKgM3: Double? = nil) -> Double {
        volumeL * factor(temperatureC: temperatureC, grade: grade, densityKgM3: densityKgM3)
    }
}
