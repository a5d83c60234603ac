/// Every configuration key of the daemon, in the order of the example file, with its section's
/// comments. ``ConfigLoader`` resolves configuration from this table, ``ConfigExample`` writes
/// `config/fuelwarden.example.yaml` from it, and a test keeps that file equal to what it writes.
public enum ConfigTable {
    /// A line of the table: a section's comments, or a key.
    public enum Entry {
        /// Comments written at the top of the section `path` (dotted), before its keys.
        case section(String, [String])
        case setting(ConfigSetting)
    }

    /// The keys alone.
    public static var settings: [ConfigSetting] {
        entries.compactMap { if case .setting(let s) = $0 { s } else { nil } }
    }

    /// Checks that involve more than one key, run after every key is read.
    static let crossChecks: [@Sendable (FuelwardenConfig) throws -> Void] = [
        { c in
            guard c.detect.thresholds.alMin < c.detect.thresholds.alMax else {
                throw ConfigurationError(key: "detect.vapour.al_min", message: "must be below detect.vapour.al_max")
            }
        },
        { c in
            guard c.detect.thresholds.leakThresholdLPH <= c.detect.thresholds.leakTargetLPH else {
                throw ConfigurationError(key: "detect.leak.threshold_l_per_h", message: "must not exceed detect.leak.target_l_per_h")
            }
        },
    ]

    /// The example file's opening comments.
    static let header = [
        "Fuelwarden configuration. Every key can also be given in the environment as FUELWARDEN_<KEY>,",
        "with dots and other separators as underscores (http.port → FUELWARDEN_HTTP_PORT), and the",
        "common ones as flags (--database-url, --host, --port, --log-level).",
        "Precedence: flags, then environment, then this file, then the defaults shown here.",
        "Pass the file with --config FILE or FUELWARDEN_CONFIG=FILE. A value that cannot be used stops",
        "startup with a message naming its key.",
        "This file is written by `fuelwarden config example` from the daemon's own table of keys.",
    ]

    // swiftlint:disable function_body_length
    public static var entries: [Entry] {
        [
            .setting(.optional(
                "database.url", \.database.url, secret: true, example: "postgres://fuelwarden:secret@127.0.0.1:5432/fuelwarden", shown: true,
                "PostgreSQL URL: postgres://user:password@host:port/database[?sslmode=disable|require].",
                "Required by every command except `demo` (which starts a throwaway server when it is unset).")),
            .setting(.integer("database.max_connections", \.database.maxConnections, 1...500, "Size of the connection pool.")),
            .setting(.seconds("database.request_deadline_seconds", \.database.requestDeadline, 0.1...120,
                              "Longest a request may wait for the database; past it the request answers 503 with Retry-After.")),

            .setting(.text("http.host", \.http.host, "Listen address and port of the API, the probes and the console.")),
            .setting(.integer("http.port", \.http.port, 0...65535)),
            .setting(.seconds("http.idle_timeout_seconds", \.http.idleTimeout, 0.5...3600,
                              "A connection silent this long (no request, no body bytes) is closed: slow senders cannot hold it.")),
            .setting(.integer("http.max_connections", \.http.maxConnections, 1...1_000_000,
                              "Open connections at most; past it new ones wait in the listen backlog.")),

            .setting(.integer("ingest.max_body_bytes", \.ingest.maxBodyBytes, 1024...(256 * 1024 * 1024),
                              "Largest push request body; larger requests answer 413. Split pushes instead of raising it far.")),
            .setting(.integer("ingest.max_lines", \.ingest.maxLines, 1...1_000_000, "Most records in one push request.")),
            .setting(.seconds("ingest.body_timeout_seconds", \.ingest.bodyTimeout, 0.5...3600,
                              "A push body must arrive whole within this time (408 otherwise).")),

            .setting(.seconds("auth.cache_seconds", \.auth.cacheTTL, 0...3600,
                              "How long a verified token is remembered (a revoked token stops working within this time).")),

            .setting(.seconds("registry.refresh_seconds", \.registry.refreshInterval, 1...86_400,
                              "How often a running daemon reloads the registry (imports by `fuelwarden registry import`).")),

            .setting(.flag("detect.enabled", \.detect.enabled,
                           "Run the detectors in this daemon. With several replicas all may run them: each station's",
                           "detector state commits with a cursor check, so a station is processed once.")),
            .setting(.seconds("detect.interval_seconds", \.detect.interval, 0.05...3600,
                              "How often detection looks for committed records it has not processed (pushes also wake it).")),
            .setting(.integer("detect.batch_size", \.detect.batchSize, 1...1_000_000, "Most ledger records read per station and pass.")),
            .setting(.number("detect.reconciliation.percent", \.detect.thresholds.reconciliationPercent, 0...100,
                             "Daily book-vs-gauge variance allowed per tank: percent of the day's sales …")),
            .setting(.number("detect.reconciliation.fixed_l", \.detect.thresholds.reconciliationFixedL, 0...100_000,
                             "… plus these litres (gauge resolution, declared-vs-delivered tolerance). 40 CFR 280.43 uses",
                             "1 % + 130 gal (492 L) for a month.")),
            .setting(.number("detect.reconciliation.delivery_percent", \.detect.thresholds.reconciliationDeliveryPercent, 0...100,
                             "… plus this share of the day's declared deliveries (ticket and gauge differ by tenths of a",
                             "percent over a large level change).")),
            .setting(.number("detect.reconciliation.cumulative_percent", \.detect.thresholds.cumulativePercent, 0...100,
                             "The monthly rule on a rolling window: variance over cumulative_days beyond this percent of",
                             "the throughput plus cumulative_fixed_l (subject `T1:30d`).")),
            .setting(.number("detect.reconciliation.cumulative_fixed_l", \.detect.thresholds.cumulativeFixedL, 0...1_000_000)),
            .setting(.integer("detect.reconciliation.cumulative_days", \.detect.thresholds.cumulativeDays, 1...366)),
            .setting(.number("detect.tank_balance.segment_minutes", \.detect.thresholds.segmentMinutes, 1...1440,
                             "The gauge's 20 °C drop over segments of about this length is regressed on each nozzle's metered",
                             "litres and on time (continuous statistical leak detection) …")),
            .setting(.number("detect.tank_balance.quiet_minutes", \.detect.thresholds.quietMinutes, 0...120,
                             "… ending at readings with no sale of the tank within these minutes (POS and gauge clocks",
                             "disagree); the boundary's level is the mean of the readings within half of it …")),
            .setting(.number("detect.tank_balance.settle_minutes", \.detect.thresholds.settleMinutes, 0...1440,
                             "… judged once the data is this far past the segment, so late sale records have arrived.")),
            .setting(.number("detect.leak.target_l_per_h", \.detect.thresholds.leakTargetLPH, 0.01...1000,
                             "The statistical leak test (rule leak_suspected). The rate it must find (EPA: 0.2 gal/h) …")),
            .setting(.number("detect.leak.threshold_l_per_h", \.detect.thresholds.leakThresholdLPH, 0.01...1000,
                             "… fail when the estimate exceeds this (EPA: at most half the target) and is z standard errors",
                             "above zero; pass (clearing the alert) when estimate + 1.645·se is below the target.")),
            .setting(.number("detect.leak.z", \.detect.thresholds.leakZ, 0.5...10)),
            .setting(.integer("detect.leak.window_days", \.detect.thresholds.leakWindowDays, 1...90,
                              "Rolling window of the fit (shorter reacts sooner, longer is steadier), and the hours of clean",
                              "segments it needs.")),
            .setting(.number("detect.leak.min_hours", \.detect.thresholds.leakMinHours, 1...2160)),
            .section("detect.meter", [
                "Per-nozzle meter factor (rule meter_drift): a nozzle off by more than flag_percent, both",
                "absolutely and against its tank's other nozzles, by z standard errors beyond legal_percent",
                "(JJG 443: ±0.3 %), over window_days of segments; judged at every segment.",
            ]),
            .setting(.integer("detect.meter.window_days", \.detect.thresholds.meterWindowDays, 1...90)),
            .setting(.number("detect.meter.flag_percent", \.detect.thresholds.meterFlagPercent, 0.01...100)),
            .setting(.number("detect.meter.legal_percent", \.detect.thresholds.meterLegalPercent, 0...100)),
            .setting(.number("detect.meter.z", \.detect.thresholds.meterZ, 0.5...10)),
            .section("detect.stock_gain", ["Metered sales exceeding the gauge's drop by more than this percent over window_days."]),
            .setting(.number("detect.stock_gain.percent", \.detect.thresholds.stockGainPercent, 0.01...100)),
            .setting(.integer("detect.stock_gain.window_days", \.detect.thresholds.stockGainDays, 1...90)),
            .setting(.number("detect.after_hours.grace_minutes", \.detect.thresholds.afterHoursGraceMinutes, 0...720,
                             "Sales starting within these minutes of the opening hours are not flagged (POS clocks drift).")),
            .section("detect.vapour", [
                "GB 20952-2020 online-monitoring practice: fills of at least min_fill_l with A/L in al_min…al_max",
                "are good; a nozzle-day with min_fills or more and a good share below good_share is a warning",
                "day; warning_days in a row raise vapour_recovery. Tank pressure outside pressure_min_pa…",
                "pressure_max_pa in more than pressure_bad_share of a day's readings on pressure_bad_days days in",
                "a row raises vapour_recovery on `T1:pressure`.",
            ]),
            .setting(.number("detect.vapour.al_min", \.detect.thresholds.alMin, 0...10)),
            .setting(.number("detect.vapour.al_max", \.detect.thresholds.alMax, 0...10)),
            .setting(.number("detect.vapour.min_fill_l", \.detect.thresholds.alMinFillL, 0...10_000)),
            .setting(.integer("detect.vapour.min_fills", \.detect.thresholds.alMinFills, 1...100_000)),
            .setting(.number("detect.vapour.good_share", \.detect.thresholds.alGoodShare, 0...1)),
            .setting(.integer("detect.vapour.warning_days", \.detect.thresholds.alWarningDays, 1...366)),
            .setting(.number("detect.vapour.pressure_min_pa", \.detect.thresholds.pressureMinPa, -100_000...100_000)),
            .setting(.number("detect.vapour.pressure_max_pa", \.detect.thresholds.pressureMaxPa, -100_000...100_000)),
            .setting(.number("detect.vapour.pressure_bad_share", \.detect.thresholds.pressureBadShare, 0...1)),
            .setting(.integer("detect.vapour.pressure_bad_days", \.detect.thresholds.pressureBadDays, 1...366)),
            .section("detect.falsified", [
                "A nozzle-day of at least min_fills A/L values whose standard deviation is below al_min_sd is",
                "too regular for a real sensor (rule falsified_telemetry).",
            ]),
            .setting(.number("detect.falsified.al_min_sd", \.detect.thresholds.regularMaxSD, 0...10)),
            .setting(.integer("detect.falsified.min_fills", \.detect.thresholds.regularMinFills, 2...100_000)),
            .setting(.number("detect.undeclared_delivery.rise_step_l", \.detect.thresholds.riseStepL, 0...10_000,
                             "A gauge rise (at 20 °C) above this between two readings starts or extends a delivery episode.")),
            .setting(.number("detect.undeclared_delivery.min_l", \.detect.thresholds.undeclaredMinL, 1...100_000,
                             "An episode adding at least this many litres needs a delivery record.")),
            .setting(.number("detect.undeclared_delivery.match_minutes", \.detect.thresholds.deliveryMatchMinutes, 0...1440,
                             "A delivery record whose window lies within these minutes of the rise explains it.")),
            .setting(.number("detect.undeclared_delivery.grace_minutes", \.detect.thresholds.undeclaredGraceMinutes, 0...1440,
                             "Data-time minutes to wait for the delivery record after the rise before alerting.")),
            .setting(.number("detect.delivery.tolerance_percent", \.detect.thresholds.deliveryTolerancePercent, 0...100,
                             "Declared vs gauged delivery volume (both at 20 °C) may differ by this percentage of the",
                             "declared volume, or by tolerance_l litres, whichever is larger; judged 30 min after delivery.",
                             "(Fills in progress at the start and end of a delivery blur the gauged figure: a diesel fill can be 200 L.)")),
            .setting(.number("detect.delivery.tolerance_l", \.detect.thresholds.deliveryToleranceL, 0...100_000)),
            .setting(.number("detect.impossible_sale.flow_tolerance_percent", \.detect.thresholds.flowTolerancePercent, 0...100,
                             "Average flow allowed above the nozzle's rated maximum, in percent.")),
            .setting(.number("detect.price.tolerance_yuan", \.detect.thresholds.priceToleranceYuan, 0...10,
                             "Tolerance on the regional price ceiling, in yuan.")),
            .setting(.number("detect.seq_gap.grace_seconds", \.detect.thresholds.seqGapGraceSeconds, 0...604_800,
                             "Data-time seconds a gap in a station's seq may stay open before it is flagged.")),
            .setting(.number("detect.tank_safety.water_max_mm", \.detect.thresholds.waterMaxMM, 0...10_000,
                             "Water above this height (mm) in a tank is flagged.")),
            .setting(.number("detect.tank_safety.overfill_percent", \.detect.thresholds.overfillPercent, 1...200,
                             "A tank filled above this share of its capacity (%) is flagged (overfill risk).")),
            .setting(.number("detect.tank_safety.over_capacity_percent", \.detect.thresholds.overCapacityPercent, 1...200,
                             "Volume above this share of calibrated capacity (%) is flagged critical (hidden or re-strapped tank?).")),
            .setting(.number("detect.totalizer.tolerance_l", \.detect.thresholds.totalizerToleranceL, 0...1000,
                             "Disagreement between a sale and its totalizer tolerated, in litres (plus 0.5 % of the sale).")),
            .setting(.number("detect.telemetry.reading_gap_minutes", \.detect.thresholds.readingGapMinutes, 1...100_000,
                             "Minutes (data time) a tank may go without readings while the station's other records go on.")),
            .setting(.minutes("detect.telemetry.stale_feed_minutes", \.detect.staleFeedAfter, 0.01...100_000,
                              "Minutes (wall clock) without any record before a station's whole feed is flagged (subject `feed`).")),
            .setting(.number("detect.telemetry.clock_ahead_seconds", \.detect.thresholds.clockAheadSeconds, 1...86_400,
                             "Records stamped this many seconds after the daemon received them (three in a row) mean the",
                             "station's clock is fast (subject `clock`).")),

            .setting(.optional(
                "feeds.file", \.feeds.file, example: "/etc/fuelwarden/feeds.yaml",
                "Device feeds: the Veeder-Root consoles to poll and the HJ 212 devices allowed to connect,",
                "in their own file (see config/feeds.example.yaml). Unset: no device feeds.")),
            .setting(.flag("feeds.hj212.enabled", \.feeds.hj212Enabled, "The HJ 212-2017 TCP listener for vapour-recovery monitors.")),
            .setting(.text("feeds.hj212.host", \.feeds.hj212.host)),
            .setting(.integer("feeds.hj212.port", \.feeds.hj212.port, 0...65535)),
            .setting(.integer("feeds.hj212.max_connections", \.feeds.hj212.maxConnections, 1...100_000,
                              "Devices connected at once; more are refused.")),
            .setting(.seconds("feeds.hj212.idle_timeout_seconds", \.feeds.hj212.idleTimeout, 1...86_400,
                              "A device that sends nothing for this long is disconnected (devices send every minute).")),
            .setting(.seconds("feeds.hj212.packet_timeout_seconds", \.feeds.hj212.packetTimeout, 0.1...3600,
                              "A packet must arrive whole within this time once it started (slow senders are cut off).")),
            .setting(.integer("feeds.hj212.max_junk_bytes", \.feeds.hj212.maxJunkBytes, 0...(64 * 1024 * 1024),
                              "Bytes of garbage one connection may send (each piece quarantined) before it is closed.")),
            .setting(.seconds("feeds.atg.timeout_seconds", \.feeds.atg.timeout, 0.1...600,
                              "Connect and answer deadline of one command to a console.")),
            .setting(.integer("feeds.atg.offline_after_failures", \.feeds.atg.offlineAfterFailures, 1...1000,
                              "Failed polls in a row before the console is recorded offline (telemetry_gap alert).")),
            .setting(.seconds("feeds.atg.max_backoff_seconds", \.feeds.atg.maxBackoff, 1...86_400,
                              "Longest wait between retries of a failing console (doubling from its interval, with jitter).")),
            .setting(.seconds("feeds.atg.max_clock_skew_seconds", \.feeds.atg.maxClockSkew, 0...86_400,
                              "A console clock further than this from ours is not trusted: readings take the poll time.")),

            .setting(.logLevel("log.level", "trace, debug, info, notice, warning, error, critical")),

            .setting(.optional(
                "checkpoint.signing_key", \.checkpoint.signingKey, secret: true, example: "/etc/fuelwarden/checkpoint.key",
                "Ed25519 key that signs a checkpoint over every station's chain head (base64 of the 32 raw bytes,",
                "or the path of a file holding it; also FUELWARDEN_CHECKPOINT_SIGNING_KEY). Make one with",
                "`fuelwarden checkpoint keygen`; give regulators the public key. Unset: no checkpoints.")),
            .setting(.seconds("checkpoint.interval_seconds", \.checkpoint.interval, 1...86_400, "How often a checkpoint is signed (when a chain head moved).")),
            .setting(.text("checkpoint.origin", \.checkpoint.origin, "Names this deployment in every signed checkpoint.")),

            .section("inspection", ["Annual-inspection pre-check (GET /v1/stations/{id}/inspection, fuelwarden inspect)."]),
            .setting(.integer("inspection.expiry_warning_days", \.inspection.expiryWarningDays, 0...3650,
                              "A licence expiring within this many days of the as-of date needs attention.")),
            .setting(.number("inspection.min_data_coverage", \.inspection.minimumDataCoverage, 0...1,
                             "Share of the year's days with data below which data coverage needs attention.")),
            .setting(.integer("inspection.interval_days", \.inspection.intervalDays, 1...3650,
                              "Inspection gaps (GET /v1/inspection-gaps): an active station not inspected for this long is overdue,")),
            .setting(.integer("inspection.silent_days", \.inspection.silentDays, 1...3650,
                              "one that sent nothing for this many days is silent,")),
            .section("inspection.alert_deadline_hours", ["and an alert unresolved this many hours after it was raised is overdue."]),
            .setting(.number("inspection.alert_deadline_hours.critical", \.inspection.alertDeadlineHours["critical"], 0.1...100_000)),
            .setting(.number("inspection.alert_deadline_hours.warning", \.inspection.alertDeadlineHours["warning"], 0.1...100_000)),
            .setting(.number("inspection.alert_deadline_hours.info", \.inspection.alertDeadlineHours["info"], 0.1...100_000)),

            .section("notify", [
                "Webhooks the outbox delivers to (POST, JSON body, headers Fuelwarden-Delivery = outbox id,",
                "Fuelwarden-Topic, Fuelwarden-Recipient and, with a secret, Fuelwarden-Signature: sha256=HMAC).",
                "A failed inspection goes to both departments; a new critical alert to its city's responsible",
                "person and liaison (one message each, the contact in the payload). Unset: messages wait in",
                "the outbox (GET /v1/outbox) until a URL is configured.",
            ]),
            .setting(.optional("notify.emergency_management_url", \.notify.webhooks["department:emergency_management"], secret: true,
                               example: "https://yjt.example.gov.cn/hooks/fuelwarden")),
            .setting(.optional("notify.market_supervision_url", \.notify.webhooks["department:market_supervision"], secret: true,
                               example: "https://scjg.example.gov.cn/hooks/fuelwarden")),
            .setting(.optional("notify.city_contacts_url", \.notify.webhooks["city:"], secret: true,
                               example: "https://sms-gateway.example.gov.cn/hooks/fuelwarden")),
            .setting(.optional("notify.secret", \.notify.secret, secret: true, example: "change-me")),
            .setting(.seconds("notify.interval_seconds", \.notify.interval, 0.05...3600, "How often the notifier looks for due messages.")),
            .setting(.seconds("notify.retry_base_seconds", \.notify.retryBase, 0.01...86_400,
                              "Recoverable failures (no answer, timeout, 408, 429, 5xx) are retried after about 10 s, 20 s, 40 s, …",
                              "(at most an hour apart, with jitter) up to max_attempts; other answers mark the message failed.")),
            .setting(.integer("notify.max_attempts", \.notify.maxAttempts, 1...1000)),
            .setting(.seconds("notify.timeout_seconds", \.notify.timeout, 0.1...600, "Longest wait for a webhook's answer.")),

            .setting(.optional(
                "history.cache_dir", \.history.cacheDir, example: "/var/cache/fuelwarden/history",
                "Complete chunks of whole-chain history exports (5,000 records each, never changing once the",
                "chain passed them) are kept as files here and served from disk on later exports: a",
                "station-year then streams in about a second instead of six. Unset: every export reads",
                "PostgreSQL. About 400 bytes a record; past cache_max_mb the least recently used go.")),
            .setting(.integer("history.cache_max_mb", \.history.cacheMaxMB, 1...100_000_000)),
        ]
    }
}
