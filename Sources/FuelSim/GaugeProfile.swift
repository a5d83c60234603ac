/// How a station's tank gauges measure and report: resolution, noise, reading interval and gaps,
/// glitches, probe temperature bias and the tank's own temperature swings — the envelope of gauges a
/// province really has (magnetostrictive probes at 0.01 mm, older gauges at 0.1–1 mm with 0.2–0.5 mm
/// noise and one-reading spikes, collectors reading every 1–30 minutes with gaps).
///
/// The default is the fine gauge FuelSim always simulated; its random draws are unchanged, so runs
/// without a profile reproduce earlier ones. Every other effect draws from a random stream of its own.
public struct GaugeProfile: Sendable, Hashable, Codable {
    public var name: String
    /// Height resolution (mm): readings are multiples of it.
    public var heightStepMM: Double = 0.01
    /// Standard deviation of the height noise (mm).
    public var heightNoiseMM: Double = 0.02
    /// Seconds between readings (rounded to whole minutes, at least one).
    public var readingIntervalSeconds: Double = 60
    /// Share of readings that are lost one by one, and the mean number per day of stretches of
    /// `outageMinutes` without any reading (a collector's outages).
    public var missingShare: Double = 0
    public var outagesPerDay: Double = 0
    public var outageMinutes: ClosedRange<Double> = 30...180
    /// Share of readings whose height jumps by `spikeMM` (up or down) for that one reading.
    public var spikeShare: Double = 0
    public var spikeMM: ClosedRange<Double> = 5...50
    /// Probe temperature bias: drawn within ±this (°C) instead of the default N(0, 0.05 °C).
    public var probeBiasMaxC: Double?
    /// Amplitude (°C) of the fuel's daily temperature swing (shallow tanks), warmest mid-afternoon.
    public var dailySwingC: Double = 0
    /// Standard deviation of what arrives against the delivery ticket (share of the declared volume).
    public var declaredErrorSD: Double = 0.0015
    /// The trade at the stations whose gauges these are. Part of the profile because it decides
    /// what the gauge's data can tell: a tank that is never quiet leaves the quiet-segment method
    /// nothing, a nozzle with three fills a day leaves its meter unjudgeable.
    public var usage = StationUsage.ordinary

    public init(name: String) { self.name = name }

    /// The fine gauge simulated so far: 0.01 mm steps, 0.02 mm noise, a reading a minute.
    public static let fine = GaugeProfile(name: "fine-1m")

    /// The grid of `fuelwarden evaluate --matrix`: the gauges issue 13 names, from fine to coarse.
    public static let matrix: [GaugeProfile] = [
        fine,
        make("fine-5m") { $0.readingIntervalSeconds = 300 },
        make("tenth-15m") { $0.heightStepMM = 0.1; $0.heightNoiseMM = 0.2; $0.readingIntervalSeconds = 900 },
        make("mm-5m") { $0.heightStepMM = 1; $0.heightNoiseMM = 0.5; $0.readingIntervalSeconds = 300 },
        make("mm-15m") { $0.heightStepMM = 1; $0.heightNoiseMM = 0.5; $0.readingIntervalSeconds = 900 },
        make("mm-15m-spikes") {
            $0.heightStepMM = 1; $0.heightNoiseMM = 0.5; $0.readingIntervalSeconds = 900; $0.spikeShare = 0.001
        },
        make("mm-15m-field") {
            // The worst of the envelope at once: spikes, gaps, a biased probe, a shallow tank, loose tickets.
            $0.heightStepMM = 1; $0.heightNoiseMM = 0.5; $0.readingIntervalSeconds = 900; $0.spikeShare = 0.001
            $0.missingShare = 0.05; $0.outagesPerDay = 0.2; $0.probeBiasMaxC = 0.5; $0.dailySwingC = 1.5; $0.declaredErrorSD = 0.0015
        },
        make("tenth-30m-irregular") {
            $0.heightStepMM = 0.1; $0.heightNoiseMM = 0.2; $0.readingIntervalSeconds = 1800; $0.missingShare = 0.1; $0.outagesPerDay = 0.5
        },
        // Busy 24-hour stations (700 fills a day, nights at 80 % of the peak): tanks never quiet.
        make("fine-5m-24h") { $0.readingIntervalSeconds = 300; $0.usage = .busyAllDay },
        make("mm-15m-24h") { $0.heightStepMM = 1; $0.heightNoiseMM = 0.5; $0.readingIntervalSeconds = 900; $0.usage = .busyAllDay },
        // Between the two: a tenth-millimetre gauge at a busy 24-hour station (added 2026-12-07, when
        // `evaluate --profiles tenth-15m:usage=busy` showed it missing targets the other two do not).
        make("tenth-15m-24h") { $0.heightStepMM = 0.1; $0.heightNoiseMM = 0.2; $0.readingIntervalSeconds = 900; $0.usage = .busyAllDay },
        // Two nozzles a station with about three fills a day: their meters cannot be judged.
        make("tenth-15m-rare") { $0.heightStepMM = 0.1; $0.heightNoiseMM = 0.2; $0.readingIntervalSeconds = 900; $0.usage = .rareNozzles },
    ]

    /// A profile of the matrix by name.
    public static func named(_ name: String) -> GaugeProfile? { matrix.first { $0.name == name } }

    static func make(_ name: String, _ change: (inout GaugeProfile) -> Void) -> GaugeProfile {
        var p = GaugeProfile(name: name)
        change(&p)
        return p
    }
}
