import FuelModel

/// What keeps a tank's gauge from reaching the leak test's target, by the marks in
/// `DetectionThresholds` (`gaugeFineStepMM`, `gaugeMaxNoiseMM`, `gaugeMaxSpikeShare`,
/// `gaugeMaxIntervalMinutes`).
public enum GaugeLimitation: String, Sendable, Hashable, Codable, CaseIterable {
    /// Height steps coarser than the fine mark: each step is tens of litres.
    case coarseSteps = "coarse_steps"
    /// Reading noise above the mark.
    case noisy
    /// More readings than the mark (and at least three) jump and come back (glitches).
    case spikes
    /// Readings sparser than the mark.
    case tooFewReadings = "too_few_readings"
    /// None of the above, yet the limit is above the target: the tank sells around the clock or its
    /// data does not yet fill the window.
    case littleUsableData = "little_usable_data"

    /// What a regulator reads (Chinese first, English alongside).
    public var text: String {
        switch self {
        case .coarseSteps: "液位分辨率粗 / coarse height steps"
        case .noisy: "读数噪声大 / noisy readings"
        case .spikes: "跳变读数多 / frequent spikes"
        case .tooFewReadings: "读数间隔过长 / too few readings"
        case .littleUsableData: "可用数据少 / little usable data"
        }
    }

    /// The limitations `quality` shows against the marks in `thresholds` (empty: none of them).
    public static func of(_ quality: GaugeQuality, thresholds th: DetectionThresholds) -> [GaugeLimitation] {
        var out: [GaugeLimitation] = []
        if let step = quality.stepMM, step > th.gaugeFineStepMM * 1.0001 { out.append(.coarseSteps) }
        if let noise = quality.noiseMM, noise > th.gaugeMaxNoiseMM { out.append(.noisy) }
        // Three at least: one delivery's start mistaken for a glitch does not make a gauge spiky.
        if quality.glitches >= 3, quality.glitchShare > th.gaugeMaxSpikeShare { out.append(.spikes) }
        if let interval = quality.intervalSeconds, interval > th.gaugeMaxIntervalMinutes * 60 * 1.0001 { out.append(.tooFewReadings) }
        return out
    }

    /// Why a tank's detection limit misses the target: what `of` names, else `littleUsableData`.
    public static func reasons(_ quality: GaugeQuality, thresholds th: DetectionThresholds) -> [GaugeLimitation] {
        let named = of(quality, thresholds: th)
        return named.isEmpty ? [.littleUsableData] : named
    }
}

/// What a regulator needs to know about a tank's gauge and its leak test, as the detector sees it
/// now: the gauge's measured quality, the method in force and the smallest leak it can find.
///
/// The detection limit is the smallest leak rate the test finds with 95 % probability from a window
/// like the current one: the test raises when the estimate exceeds both the threshold and its
/// critical value times the standard error, so the limit is max(threshold, c·se) + 1.645·se.
public struct TankAssessment: Sendable, Hashable, Codable {
    public var tank: String
    /// Height step (mm), noise (mm, rounding included), median interval between readings (s),
    /// readings seen and the share that were glitches.
    public var stepMM: Double?
    public var noiseMM: Double?
    public var intervalSeconds: Double?
    public var readings: Int
    public var glitchShare: Double
    /// The leak method whose verdict counts (nil: not enough data yet), its window in days, the days
    /// of it that hold data, the current estimate and its standard error (L/h).
    public var method: BalanceMethod?
    public var windowDays: Int?
    public var daysWithData: Int?
    public var leakRateLPH: Double?
    public var leakStandardErrorLPH: Double?
    /// The smallest leak (L/h) found at 95 % within the window, and the target it is held against.
    public var detectionLimitLPH: Double?
    public var targetLPH: Double
    /// The standard deviation (%) of the meters' factors the estimate and its limit take as known
    /// before the readings (meters verified legal; nil: from the readings alone).
    public var meterPriorPercent: Double?
    /// What is beyond the marks in the gauge's quality.
    public var limitations: [GaugeLimitation]
    /// The meter test's view of each of the tank's nozzles that has an estimate.
    public var meters: [NozzleMeterAssessment] = []

    /// Whether the test can find the target leak (nil: not known yet).
    public var meetsTarget: Bool? { detectionLimitLPH.map { $0 <= targetLPH } }
    /// Whether the window is full, so the limit is what the gauge can do rather than a start-up figure.
    public var settled: Bool { (daysWithData ?? 0) >= (windowDays ?? .max) }

    enum CodingKeys: String, CodingKey {
        case tank, stepMM = "step_mm", noiseMM = "noise_mm", intervalSeconds = "interval_seconds", readings
        case glitchShare = "glitch_share", method, windowDays = "window_days", daysWithData = "days_with_data"
        case leakRateLPH = "leak_rate_l_per_h", leakStandardErrorLPH = "standard_error_l_per_h"
        case detectionLimitLPH = "detection_limit_l_per_h", targetLPH = "target_l_per_h", limitations, meters
        case meterPriorPercent = "meter_prior_percent"
    }
}

extension StationDetector {
    /// Every tank's gauge quality, leak method and detection limit as of the data seen so far.
    public func tankAssessments(thresholds: DetectionThresholds) -> [TankAssessment] {
        let ids = Set(tanks.quality.keys).union(balance.tanks.keys).sorted()
        return ids.map { id in
            balance.assessment(of: id, quality: tanks.quality[id] ?? GaugeQuality(), thresholds: thresholds)
        }
    }
}
