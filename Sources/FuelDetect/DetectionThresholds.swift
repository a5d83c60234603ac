/// Rule thresholds; defaults are documented in `config/fuelwarden.example.yaml` (`detect.*`).
public struct DetectionThresholds: Hashable, Sendable, Codable {
    /// Daily book-vs-gauge variance allowed, as a percentage of the day's sales (40 CFR 280.43 uses 1%).
    public var reconciliationPercent: Double = 1.0
    /// Plus this many litres a day (gauge resolution, delivery tolerance).
    public var reconciliationFixedL: Double = 130
    /// Plus this share (%) of the day's declared deliveries: a ticket and a gauge disagree by a few
    /// tenths of a percent over a large level change without anyone stealing.
    public var reconciliationDeliveryPercent: Double = 0.5
    /// A per-reading gauge rise (at 20 °C) above this starts or extends a delivery episode.
    public var riseStepL: Double = 10
    /// … or where the net inflow of one interval (the gauge's change plus the litres sold inside it)
    /// reaches `undeclaredMinL`: at a busy station read every 30 minutes the sales of an interval
    /// outweigh a small load and the gauge never rises (`mm-5m:every=30m:usage=busy`, seed 311: 2 of 20
    /// undeclared deliveries of 222–322 L never raised).
    public var riseNetInflow = true
    /// An episode that adds at least this many litres with no delivery record is an undeclared delivery.
    public var undeclaredMinL: Double = 150
    /// A delivery record whose window lies within this many minutes of the rise explains it.
    public var deliveryMatchMinutes: Double = 90
    /// Data-time minutes to wait for the delivery record after the rise ends before raising.
    public var undeclaredGraceMinutes: Double = 30
    /// Declared vs gauged delivery volume may differ by this share of the declared volume (%) …
    public var deliveryTolerancePercent: Double = 1.0
    /// … or by these litres, whichever is larger. Measured on honest deliveries (FuelSim, eleven gauge
    /// profiles, seeds 3 and 8, 11,800 deliveries of 3,300–18,000 L declared within ±0.3 %): gauged
    /// minus declared ±31 L (one standard deviation), beyond 150 L three times, all over (a fill in
    /// progress at an end of the delivery, metered after the gauge saw it leave, up to +217 L). 250 L
    /// (until 2026-12-06) was 2.1 % of a 12,000 L load: a 2 % short delivery could not be raised.
    public var deliveryToleranceL: Double = 150
    /// Flow allowed above a nozzle's rated maximum before a sale is impossible.
    public var flowTolerancePercent: Double = 5
    /// Tolerance on the price ceiling in yuan (rounding of posted prices).
    public var priceToleranceYuan: Double = 0.005
    /// Data-time seconds a seq gap may stay open before it is flagged (concurrent pushes reorder).
    public var seqGapGraceSeconds: Double = 600

    /// Water in a tank above this height (mm) is flagged.
    public var waterMaxMM: Double = 50
    /// A tank filled above this share of its capacity (%) is flagged (overfill risk).
    public var overfillPercent: Double = 95
    /// Volume above calibrated capacity (%, with gauge tolerance) suggests a hidden or re-strapped tank.
    public var overCapacityPercent: Double = 101
    /// Totalizer disagreement tolerated (litres, plus 0.5 % of the sale).
    public var totalizerToleranceL: Double = 0.05
    /// A tank whose readings stop this long (data time) while the station's other records go on is flagged.
    public var readingGapMinutes: Double = 30

    /// Rolling cumulative reconciliation (40 CFR 280.43): variance over `cumulativeDays` above this
    /// share of the throughput …
    public var cumulativePercent: Double = 1.0
    /// … plus these litres (130 US gal) is flagged.
    public var cumulativeFixedL: Double = 492
    public var cumulativeDays: Int = 30

    /// Tank balance segments: gauge drop between settled readings about this long apart …
    public var segmentMinutes: Double = 60
    /// … ending at a reading with no sale of the tank within this many minutes either side (its level
    /// is the mean of the readings within half of it) …
    public var quietMinutes: Double = 4
    /// … judged once the station's data is this far past the segment (late sales have arrived).
    public var settleMinutes: Double = 15
    /// Statistical leak test: the leak rate it must detect (EPA SIR: 0.2 US gal/h) …
    public var leakTargetLPH: Double = 0.76
    /// … declared a leak when the estimate exceeds this (EPA: at most half the target) and is
    /// significant at `leakZ` standard errors; passes when the upper bound is below the target.
    public var leakThresholdLPH: Double = 0.38
    public var leakZ: Double = 3.0
    /// … and only once the estimate has been above the threshold at this many day closes in a row
    /// (a window's estimate wanders; a leak stays).
    public var leakConfirmCloses: Int = 2
    /// Days of tank balance the leak test fits (rolling).
    public var leakWindowDays: Int = 5
    /// The leak test needs at least this many hours of segments.
    public var leakMinHours: Double = 72

    /// Per-nozzle meter factor: days of segments in the regression …
    public var meterWindowDays: Int = 3
    /// … a nozzle whose over- or under-registration exceeds this (%) by `meterZ` standard errors
    /// beyond the legal ±0.3 % (JJG 443) is flagged.
    public var meterFlagPercent: Double = 1.0
    public var meterLegalPercent: Double = 0.3
    public var meterZ: Double = 2.75
    /// The drift (%) the meter test must find: a nozzle whose factor is known less well than that
    /// needs — (target − legal) / z — is inconclusive and not judged.
    public var meterTargetPercent: Double = 2
    /// Stock gain: metered sales exceeding the gauge's drop by more than this share (%) over
    /// `stockGainDays` of segments.
    public var stockGainPercent: Double = 0.8
    public var stockGainDays: Int = 7

    /// Vapour recovery (GB 20952-2020 online monitoring practice): A/L range of a good fill …
    public var alMin: Double = 1.0
    public var alMax: Double = 1.2
    /// … fills count from this volume, a nozzle-day is judged from this many fills, and a day with
    /// fewer good fills than this share is a warning day; this many warning days in a row is an alarm.
    public var alMinFillL: Double = 15
    public var alMinFills: Int = 5
    public var alGoodShare: Double = 0.75
    public var alWarningDays: Int = 5
    /// Tank pressure range (Pa); a day with more readings outside than this share is a bad day, and
    /// this many bad days in a row an alarm.
    public var pressureMinPa: Double = -1000
    public var pressureMaxPa: Double = 600
    public var pressureBadShare: Double = 0.25
    public var pressureBadDays: Int = 7
    /// Falsified telemetry: a nozzle-day of at least `regularMinFills` A/L values whose standard
    /// deviation is below this is too regular for a real sensor.
    public var regularMaxSD: Double = 0.01
    public var regularMinFills: Int = 10

    /// A record stamped more than this many seconds after the daemon received it means a fast station clock.
    public var clockAheadSeconds: Double = 300
    /// Sales starting this many minutes outside the hours are not flagged (POS clocks drift).
    public var afterHoursGraceMinutes: Double = 5

    // The rules' finer constants: each was a literal in its rule; here they are named, documented
    // and configurable (`detect.*`), with the values the rules were measured with.

    /// A delivery mismatch beyond this many times its tolerance is critical (else a warning).
    public var deliveryCriticalFactor: Double = 4
    /// Data-time days a raised undeclared-delivery episode waits for a late delivery record, and a
    /// judged delivery stays to explain gauge rises.
    public var deliveryKeepRaisedDays: Double = 7
    public var deliveryKeepJudgedDays: Double = 3
    /// A daily variance beyond this many times the allowance is critical (else a warning).
    public var reconciliationCriticalFactor: Double = 2
    /// A delivery or gauge rise within these minutes of a day's closing reading joins the two days
    /// (the ticket's clock and the gauge's disagree by minutes at 700 L a minute); rises are
    /// remembered for `reconciliationRiseHours`.
    public var reconciliationMarginMinutes: Double = 10
    public var reconciliationRiseHours: Double = 6
    /// A sale's totalizer may also differ by this percent of the sale; this many consistent sales in a
    /// row clear a totalizer alert.
    public var totalizerTolerancePercent: Double = 0.5
    public var totalizerClearSales: Int = 20
    /// Records in a row stamped ahead before the clock alert is raised; it clears once the skew is
    /// below this share of `clockAheadSeconds`.
    public var clockAheadRecords: Int = 3
    public var clockClearShare: Double = 0.5
    /// Seq gaps remembered per station (the oldest are forgotten past it).
    public var seqGapMaxTracked: Int = 1000
    /// Tank balance: a segment longer than this (a tank never quiet) is abandoned; a delivery blocks
    /// segments within these minutes of its window; a sales clock this many days behind the gauge is
    /// ignored (a station whose POS stopped).
    public var segmentMaxHours: Double = 6
    public var deliveryMarginMinutes: Double = 10
    public var salesClockLagDays: Double = 2
    /// The leak test uses days with at least this many hours of clean segments, needs this many such
    /// days, and passes when the estimate plus `leakPassZ` standard errors is below the target.
    public var leakDayMinHours: Double = 6
    public var leakMinDays: Int = 3
    public var leakPassZ: Double = 1.645
    /// The cumulative inventory-variance method (coarse gauges): the leak test's window in days
    /// (14: with the test of a leak since a day inside it, a longer window no longer finds a new leak
    /// later, and its meters and detection limit are surer — mm-15m's median limit 0.74 → 0.60 L/h) …
    public var inventoryWindowDays: Int = 14
    /// … with this many columns for the tank's strapping chart (0: none): the tank's litres weighed by
    /// powers (1, 2, …) of each epoch's mean level about the window's. A chart whose error changes its
    /// slope with the level makes the litres leave the gauge faster at some levels than at others;
    /// one factor per nozzle for the whole window then misfits, and over a window whose level sweeps
    /// the chart the misfit passed for a leak of ±0.3–0.7 L/h (a leak-free tank's estimate climbing
    /// day after day to 0.7 ± 0.15 L/h, mm-15m-field seed 21). One column: seeds 3, 8 and 21, eight
    /// coarse profiles, leak-free tank-months flagged 6 → 3 of 2,016, 0.76 L/h leaks missed within 14
    /// days 2 → 0 (busy 24-hour tanks, out of reach, aside), standard errors no larger; two columns
    /// found fewer leaks on busy 24-hour tanks and flagged more.
    public var leakChartTerms: Int = 1
    /// … and, on a gauge whose height steps are coarser than twice `gaugeFineStepMM` (a millimetre
    /// gauge), a leak since a day has a standard error at least its delete-one-epoch (CR3) jackknife's.
    /// Such a fit rests on the few epochs after its start, and where one or two of them carry the
    /// estimate — a busy tank whose trade runs day and night, its leak half confounded with the
    /// meters — leak-free tanks drew 4-standard-error leaks "since" a day (mm-15m-24h, seeds 71, 83,
    /// 111, 131: 2, 3, 0, 0 of 84 tank-months flagged; with the floor 2, 2, 0, 0). On the whole window
    /// too it took seed 83's other flags, but put a mm-15m leak from the window's first day past its
    /// 14 days (seed 171: found at 282 h → 378 h), so the whole window keeps the sandwich.
    public var leakJackknife = true
    /// … and a leak that began inside it is also tested from each day that leaves at least this many
    /// days of the window (0: not tested), at its own rate rather than averaged with the days before.
    public var leakOnsetMinDays: Int = 2
    /// … and, on the cumulative method, that leaves at least this many days of the window before it:
    /// the days before a start pin the meters, and one day cannot. Where trade runs day and night the
    /// leak is half confounded with the meters, and a leak "since" the window's second day read 0.66–
    /// 0.72 ± 0.11–0.20 L/h on three leak-free busy tanks whose whole window said 0.11–0.47 ± 0.25
    /// (mm-15m-24h, seed 51: 3 of 84 tank-months flagged). At 2: those 3 → 0; seeds 3, 21, 31, 61 on
    /// seven coarse profiles flagged no more; a leak present from the data's first day was found
    /// after 15.5 days instead of 13.5 (mm-15m, seed 31), one leak fewer found on busy 24-hour tanks
    /// of seed 21 (out of reach there). 3 lost two of seed 3's busy-tank leaks too.
    public var leakOnsetMinDaysBefore: Int = 2
    /// The cumulative method's fail — the whole window's and a leak since a day's — is not taken when
    /// it rests on a meter factor below the legal range (`meterLegalPercent` under 1): with that meter at
    /// its lowest legal value the leak must still fail (false: not checked). Seeds 61 and 21, seven coarse profiles: leak-free tank-months
    /// flagged on mm-15m-24h 1 → 0 of 84 (each seed) and mm-15m-field 1 → 0 (seed 21); seeds 3 and 31
    /// unchanged; the price, one 0.76 L/h leak present from the data's second day found after 14.5
    /// days instead of 12.5 (mm-15m, seed 21) and one busy-tank leak fewer (out of reach there).
    public var leakLegalMeters = true
    /// What a meter factor is known to be before any reading, as a standard deviation in % about 1: the
    /// cumulative method's leak verdict takes its estimate with every meter within it a priori (0: not).
    /// Meters are verified within the legal ±0.3 %; uniform over that range, 0.17 %. A fail found only
    /// with it must hold at `leakConfirmCloses` closes in a row (see ``TankBalanceRule``).
    public var leakMeterPriorPercent = 0.17
    /// … and it is used only where the readings alone tell the leak from the meters (for the verdict,
    /// the detection limit and `gauge_quality`): the window's model standard error of the leak at most this (L/h; 0.13 on the median ordinary
    /// millimetre tank over 14 days, 0.3 on a busy 24-hour one).
    public var leakMeterPriorMaxModelSE = 0.25
    /// … and, on a fine gauge, over the quiet segments of this many days (a leak since each day that
    /// leaves `leakOnsetMinDays` of them; at most `leakOnsetMinDays`: not tested). Each day more is
    /// kept in the detector's state.
    public var leakQuietOnsetWindowDays: Int = 9
    /// … at this many standard errors (the scan over start days is several tests, not one).
    public var leakOnsetZ: Double = 3.0
    /// … and only where the whole window's estimate is no more than this many of its standard errors
    /// below what the leak since that day leaves in it (its rate × the share of the window since
    /// then; 0: not checked) — else the days before it, taken as tight, stand for another misfit.
    public var leakOnsetConsistencyZ: Double = 2.5
    /// … failing at this many day closes in a row. One: the onset test's bar (above the threshold by
    /// its pass margin and `leakOnsetZ` above zero) already guards it, and a second close cost most
    /// leaks that began in a run's first days their 7-day deadline on 0.1 mm gauges.
    public var leakOnsetConfirmCloses: Int = 1
    /// … on tanks whose whole window's model standard error of the leak is at most this (L/h): above
    /// it the leak is confounded with the meters (steady trade day and night on a coarse gauge).
    public var leakOnsetMaxModelSE: Double = 0.25
    /// The whole window's cumulative leak estimate takes, as a floor under its standard error, the
    /// model's scaled by the tank's own *design effect*: how far its robust variance has exceeded the
    /// model's over its recent day closes (the median of this many closes; 0: no floor). The robust
    /// standard error rests on the window's epochs, a dozen or fewer, and at some closes it comes out
    /// below the model's by chance while the same tank's errors stay correlated over hours: a busy
    /// 24-hour millimetre tank whose robust standard error ran 1.4–2.5 × the model's read 1.69 ± 0.35
    /// L/h on the one close (of 17) at which it fell to 1.0 ×, a false leak (mm-15m-24h, seed 21).
    public var leakDesignEffectCloses: Int = 7
    /// … from the closes whose window has at least this many epochs (clusters): from fewer the robust
    /// variance is too rough to say anything of the tank.
    public var leakDesignEffectMinClusters: Int = 4
    /// A whole window's leak on the cumulative method is not raised when one nozzle's meter factor
    /// stepped down on a day inside it (it began to count more than it delivers) by more than this
    /// many standard errors and, with the step in the model, the leak no longer fails: a meter set
    /// to short-fill misfits one factor per window, and where trade runs day and night the misfit
    /// lands on the leak (a 2 % step read as 8.4 ± 0.8 L/h, mm-15m-24h seed 13). Such a step beyond
    /// `meterFlagPercent` (and `meterLegalPercent` by `meterZ` of its standard errors) raises
    /// `meter_drift` for the nozzle. 0: never.
    /// At 4.6 rather than 4: false steps on leak-free tanks read 4.1–4.5 standard errors a day after
    /// their "start" (a step since the window's last day rests on one or two days of cells, which
    /// share errors the model takes as independent) — false `meter_drift` a station-month on seeds
    /// 21, 31, 51, 61, seven coarse profiles: mm-15m 0.11 → 0.04 (seed 51), 0.07 → 0.04 (31, 61);
    /// short-fill set (eight profiles) 209 → 209 of 263 found within 3 days (seed 3) and 221 → 219
    /// of 265 (seed 8), false `meter_drift` summed 1.22 → 1.07 and 1.35 → 1.28. (Flooring the step's
    /// standard error by the tank's design effect, as the leak's is, changed nothing: the leak
    /// column's robust-over-model ratio was at most 1 on those tanks.)
    public var meterChangeZ: Double = 4.6
    /// A meter step is raised only when its 95 % lower bound is beyond this registration change (%).
    public var meterStepFlagPercent: Double = 1.0
    /// … and only at scans where its model z is at least this far above the likeliest other nozzle's
    /// step since the same day (``BalanceFit/MeterStep/rivalZ``); a closer scan does not count toward
    /// `meterStepConfirmScans` (0: every scan counts). Most false `meter_drift` left was the short-filling
    /// nozzle's sibling raised instead of it, or both nozzles of a leak-free tank "stepping" alike after
    /// a delivery: the two read within 0.3 z in 3 of 5 such alerts on tenth-15m against 3 of 36 true
    /// ones (seed 3). At 0.3: the catalogue's false `meter_drift` on six coarse profiles of seeds 21 and
    /// 31 summed 1.02 → 0.49 a station-month (rows above 0.1: 5 → 2); the short-fill set (seed 3, eight
    /// profiles) found 210 instead of 223 of 263 within 3 days, the millimetre gauges' losses (their
    /// 3-day limit is far above 2 %), for false `meter_drift` 1.79 → 1.31 summed.
    public var meterStepAttributionZ: Double = 0.3
    /// Where a tank has two or more nozzles whose meters may have stepped, which one did is decided
    /// with the step placed inside the epoch that holds it (``InventoryRegression/MeterChange/transition``),
    /// and a scan counts only where the step fits better on its nozzle than on the next by this fall
    /// in the residual sum of squares, in the model's variance (replacing `meterStepAttributionZ`; 0:
    /// the day-scale comparison by model z). On a day's scale a short-fill set in the afternoon was
    /// placed hours wrong, and where a tank's two nozzles sell alike that decided between them: the
    /// sibling raised and the culprit masked behind it. Short-fill set, 40 stations × 21 days, seeds
    /// 3, 8 and 13, found within 3 days on tenth-15m, tenth-30m-irregular, tenth-15m-rare and mm-5m:
    /// 350 → 358 (of 395), their false `meter_drift` summed 1.85 → 1.19 a station-month; at 9, 354
    /// and 0.95; at 4 (seed 3) fewer found than at 0. The millimetre 15-minute gauges, whose 3-day
    /// limit is far above 2 %, find fewer (mm-15m 73 → 69 of 98) with fewer false alarms.
    public var meterStepAttributionEvidence: Double = 6
    /// … and only where the nozzle's factor before the step is a legal meter's: within
    /// `meterLegalPercent` of 1 and this many of its standard errors (0: not checked). A factor of
    /// 1.024 or 0.94 "before" says the fit is not describing the meters (a sibling's short-fill or a
    /// new leak taken up by the wrong nozzle, a window of a few days): such steps were false alarms.
    /// At 3, six coarse profiles of seeds 21 and 31: false `meter_drift` a station-month on
    /// tenth-15m-rare (21) and tenth-30m-irregular (31) 0.11 → 0.07, tenth-15m (21) and mm-5m (31)
    /// 0.04 → 0, no other row changed; the short-fill set (seed 3, eight profiles) 1.31 → 1.22 summed
    /// with the same 210 of 263 found within 3 days. The price: a meter already out of the law before
    /// it steps is left to the factor test.
    public var meterStepBeforeZ: Double = 3
    /// A meter step is raised once it has been found at this many scans in a row (hourly and at day
    /// closes) on the same nozzle: a step that passes at one hour's scan and not the next is the
    /// window's noise. Short-fill set, eight coarse profiles, 1 → 3: found 221 → 223 of 263 (seed 3)
    /// and 235 → 237 of 265 (seed 8), false `meter_drift` summed over the profiles 2.37 → 1.83 and
    /// 2.49 → 1.81 a station-month; 6 cut the false further but found 216 (seed 3).
    public var meterStepConfirmScans = 3
    /// A step that passes its tests while which of the tank's nozzles made it stays undecided
    /// (`meterStepAttributionEvidence` not reached) for this many scans in a row raises `meter_drift` on
    /// both the likeliest nozzle and its rival, each naming the other (`attribution: undecided`), so the
    /// inspector tests both (0: wait for the evidence, which may never come). Where a tank's two nozzles
    /// sell alike a gauge cannot tell which one short-fills: on mm-5m (seed 3) three 2 % short-fills
    /// passed at z 8–13 for days with the evidence between them 0.03–0.3, and nothing was raised.
    /// Short-fill set (40 stations × 21 days, seven coarse profiles), found within 3 days, 0 → 12:
    /// seed 3 209 → 230 of 242, seed 5 204 → 234 of 250 (mm-15m 18 → 28 and 30, mm-15m-24h 31 → 36 and
    /// 23 → 34). The price is the sibling's alert, a false `meter_drift`: summed over the seven 0.33 →
    /// 1.50 and 0.62 → 1.82 a station-month at that set's density (about one short-fill a station-month);
    /// at the catalogue's (3 in 28 station-months) 0–0.11 a profile. At 3 more false for a few more
    /// found; at 24 the wait passes the 3 days (mm-15m 22 of 34).
    public var meterStepUndecidedScans = 12
    /// Once a meter step is raised, a step on another nozzle of its tank is not tested from the day
    /// before the raised one's day to this many days after it (0: always tested). The raised step is
    /// modelled from the start of a day while the meter changed inside an epoch, and the misfit of its
    /// first hours read as a step on a sibling a day or two later: on the short-fill set (seeds 3 and
    /// 301, six coarse profiles, 40 stations × 21 days) false `meter_drift` on tenth-15m-24h 0.25 →
    /// 0.11–0.14 a station-month, mm-15m-24h 0.11–0.14 → 0.04–0.07, tenth-15m 0.11 → 0.07 (seed 301),
    /// short-fills found as before but one of 40 on tenth-15m-24h (seed 301).
    public var meterStepSiblingDays = 2
    /// A raised meter step is moved to another nozzle of its tank when, with the days that followed it,
    /// the window fits better with the step on that nozzle (since the same day, a step down) by this fall
    /// in the residual sum of squares, in the model's variance (0: never moved). Which nozzle stepped is
    /// decided a day after the step; where it was the wrong one, the sibling rule above then hid the
    /// right one's step for good (seed 3, LN-SY-0004: N3 raised, N4 short-filling, on tenth-15m-24h
    /// and tenth-15m-rare).
    public var meterStepReattributeEvidence: Double = 0
    /// … a rise of the sales-corrected level by more than `levelBreakSigmas` times its noise, and at
    /// least `levelBreakMinL`, starts a new epoch (an offset of its own: fuel came in) …
    public var levelBreakSigmas: Double = 5
    public var levelBreakMinL: Double = 50
    /// … and a reading's noise is never taken below this (litres), so a gauge exact to a fraction of a
    /// litre cannot give a reading taken while a fill flows weight it does not deserve.
    public var levelNoiseFloorL: Double = 0.3
    /// … and an epoch lasts at most these hours: over days a tank's level sweeps much of its
    /// strapping chart, whose errors (tenths of a percent, curved) would otherwise pass for a trend.
    public var levelEpochMaxHours: Double = 24
    /// … or these hours on a tank whose measured reading noise is at most `levelEpochLowNoiseL` (litres,
    /// one reading; 0: never) and whose height steps are those of a tenth-millimetre gauge (coarser than
    /// half `gaugeFineStepMM`, no coarser than twice it). Each epoch costs the fit an offset, which a noisy gauge needs many
    /// readings to pin, while a long epoch lets the level sweep more of the chart: a busy 24-hour tank
    /// sells a third of itself in a day, and over such a sweep the chart's curved error (no column of
    /// a window can follow it inside an epoch) passed for a leak of 0.5–0.75 L/h on tenth-millimetre
    /// gauges (tenth-15m-24h, seed 61: 2 of 84 leak-free tank-months flagged, none with the simulator's
    /// chart made exact). A tenth-millimetre gauge reads to 2–4 L, a millimetre one to 7–12 L: on the
    /// first, 12-hour epochs lose little of the leak and remove that sweep; on the second they cost it
    /// (mm-15m: a 0.76 L/h leak of 20 missed in 14 days, mm-15m-24h 6 → 0 of 20 found), so they stay 24 h.
    /// At 5 L since 2026-12-08 (README, "Shorter epochs where the gauge reads to a few litres"):
    /// tenth-15m-24h flagged 2 of 420 leak-free tank-months on five seeds instead of 6, its short-fills
    /// found 15 of 15; the price, its median detection limit 0.61–0.65 → 0.75–0.80 L/h. Twice the
    /// epochs are twice the cells: a busy 24-hour tenth-millimetre station's state is 30 KB (it was 36.9
    /// before the cells' compact layout, ``InventoryRegression/Cell/storedFigures``).
    public var levelEpochMaxHoursLowNoise: Double = 12
    public var levelEpochLowNoiseL: Double = 5
    /// … and it takes at most one reading per this many minutes (a gauge read every minute is
    /// judged by its quiet segments; the method is for the coarse gauges read every 5–30 minutes).
    public var levelMinIntervalMinutes: Double = 5
    /// The method is used on tanks whose measured reading noise is at least these litres (a coarse
    /// gauge); a fine gauge's quiet segments judge it better …
    public var levelMinNoiseL: Double = 1.5
    /// … but for the leak test, where the method may judge fine gauges too. A fine gauge's tank whose
    /// quiet segments cannot decide the leak alone (a busy 24-hour tank: few quiet readings) keeps the
    /// method's cells and its verdict is the surer of the two methods'; its meters and meter steps stay
    /// with the quiet segments (on fine gauges the step scan raised false `meter_drift`, 0.11–0.14 a
    /// station-month on fine-1m and fine-5m). Measured on against off (40 stations × 21 days, seeds 3
    /// and 311): fine-5m-24h's median detection limit 0.80 → 0.59–0.60 L/h, tanks unable to find the
    /// target leak 86–88 → 45–59 of 160, 0.76 L/h leaks found within 7 days 19–20 → 20 of 20, no false
    /// alarm more; a busy station read every 30 minutes (`fine-5m:every=30m:usage=busy`) 16–17 → 18–20
    /// of 20 within 7 days, leak-free tanks flagged 3 → 1 of 168. Off until 2026-12-07 because the
    /// state then passed 32 KB on such stations (33.1 KB); the state's litres kept to the millilitre,
    /// runs of one figure stored once and one-reading epochs dropped brought the worst of eight seeds
    /// to 32,681 bytes (`bench state --days 21`: the 30-minute busy station, seed 301 — a thin margin). With the cells kept on every fine tank instead (and the
    /// quiet segments' scan of a leak since a day dropped for them), the limit was 0.52 but a leak that
    /// began mid-window on an ordinary fine tank was no longer found within four days (test
    /// `aLeakThatBeginsInsideTheWindowIsMeasuredFromItsDay`); with that scan dropped only where the
    /// quiet segments did not decide at the last close, leaks on ordinary fine tanks were found two
    /// days later (a leak that begins inflates their standard error) — neither kept.
    public var leakInventoryOnFineGauges = true
    /// … where its fail must agree with the quiet segments: not more than this many of their combined
    /// standard errors above their estimate (0: not checked; see ``TankBalanceRule``).
    public var leakMethodsAgreeZ: Double = 2.5
    /// Stock gain is judged on a window with at least this many litres sold and this share of its
    /// hours in clean segments; it clears below this share of `stockGainPercent`.
    public var stockGainMinSalesL: Double = 2000
    public var stockGainMinCoverage: Double = 0.5
    public var stockGainClearShare: Double = 0.5
    /// Stock gain is raised only when it exceeds `stockGainPercent` by this many standard errors (an
    /// estimate less sure than that is inconclusive).
    public var stockGainZ: Double = 3
    /// Meter factors are judged on a window with this share of its hours in clean segments, for
    /// nozzles with a fitted factor above `meterMinFactor` and more than `meterMinLitres` sold; an
    /// alert clears when |deviation| + `meterClearSE` standard errors is below `meterFlagPercent`.
    public var meterMinCoverage: Double = 0.6
    public var meterMinFactor: Double = 0.5
    public var meterMinLitres: Double = 1000
    public var meterClearSE: Double = 2
    /// A meter factor from the inventory-variance fit is judged only on at least this many epochs:
    /// its robust standard error rests on them, and from fewer it is too often too small. Epochs
    /// shortened on a quiet gauge (`levelEpochMaxHoursLowNoise`) count by their share of
    /// `levelEpochMaxHours` (two 12-hour epochs as one): two halves of a day sweep the same stretch of the
    /// strapping chart, and counted whole they let the 3-day window judge busy 24-hour tenth-millimetre
    /// tanks on 6–7 of them, which raised false `meter_drift` (a factor 1.3–2 % off; 1–2 on each of five
    /// seeds of tenth-15m-24h, none counted this way).
    public var meterMinClusters: Int = 6
    /// An A/L value within this many seconds of its nozzle's sale belongs to that fill; a falsified
    /// alert clears once the day's standard deviation reaches this many times `regularMaxSD`.
    public var alSaleMatchSeconds: Double = 180
    public var regularClearFactor: Double = 3
    /// Glitch filter: a reading whose height jumps by at least `glitchMinMM` and `glitchSigmas` times
    /// the tank's measured reading noise is held; it is a glitch when the next reading comes back to
    /// within `glitchReturnShare` of the jump from the reading before.
    public var glitchMinMM: Double = 3
    public var glitchSigmas: Double = 6
    public var glitchReturnShare: Double = 0.5
    /// A tank is silent when it has sent no reading for `readingGapMinutes` and for this many of its
    /// own reading intervals (the median the gauge-quality estimate measures).
    public var readingGapIntervals: Double = 3
    /// … and, on a gauge that loses single readings (a share p of its intervals skip one), for so many
    /// intervals k that p^(k−1) — losing them all by chance — is below this. Until the tank's
    /// interval is measured, it is taken as `readingGapMinutes` losing readings at the gauge-quality
    /// prior's share (one in ten), as it is once measured before its own losses are counted.
    public var readingGapChance: Double = 1e-5
    /// No tank of a station with several read for more than this many of a tank's reading intervals:
    /// the collector or gauge console was out, not each probe, so each tank's silence counts from the
    /// first reading after (a tank whose first reading after a night's outage is lost is not offline).
    public var stationSilenceIntervals: Double = 2
    /// A tank whose leak detection limit (the smallest leak found at 95 % within the leak window)
    /// stays above `leakTargetLPH` once its window is full (`gaugeQualityDays` day closes in a row)
    /// raises one `gauge_quality` info alert,
    /// naming what is beyond these marks: steps coarser than `gaugeFineStepMM`, noise above
    /// `gaugeMaxNoiseMM`, more than `gaugeMaxSpikeShare` of readings glitches, readings sparser than
    /// every `gaugeMaxIntervalMinutes`. It clears when the limit is back within the target.
    public var gaugeFineStepMM: Double = 0.1
    public var gaugeMaxNoiseMM: Double = 0.5
    public var gaugeMaxSpikeShare: Double = 0.001
    public var gaugeMaxIntervalMinutes: Double = 15
    /// The alert is raised (and cleared) after this many day closes in a row argue for it.
    public var gaugeQualityDays = 3

    public init() {}
}

extension DetectionThresholds {
    /// Seconds without a reading after which a tank read every `intervalSeconds` (nil: not yet
    /// measured) that loses a share `lossShare` of its readings one by one is silent:
    /// `readingGapMinutes`, and enough of its intervals k that p^(k−1) ≤ `readingGapChance`.
    public func readingSilence(intervalSeconds: Double?, lossShare: Double?) -> Double {
        // An unknown interval assumed at the prior's losses too: a 30-minute gauge losing one reading in
        // ten, whose two first readings after the start were lost, raised a gap 90 minutes in before.
        guard let interval = intervalSeconds else {
            return readingSilence(intervalSeconds: readingGapMinutes * 60, lossShare: GaugeQuality.lossPrior.skipped / GaugeQuality.lossPrior.intervals)
        }
        var k = readingGapIntervals
        if let p = lossShare, p > 0 {
            // The fewest lost readings in a row m with p^m ≤ chance (p capped: a share near 1 is a slower
            // gauge, not a lossy one); then k = m + 1 intervals.
            let share = min(p, 0.5)
            var (m, chance) = (1.0, share)
            while chance > readingGapChance { chance *= share; m += 1 }
            k = max(k, m + 1)
        }
        return max(readingGapMinutes * 60, k * interval)
    }
}
