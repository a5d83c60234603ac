import FuelModel

/// The station agent's configuration (`fuelwarden agent --config agent.yaml`): where the cloud is,
/// which station this is and where its key lies, the spool, and the sources read at the station.
/// See `config/agent.example.yaml`. Every error names the field.
public struct AgentConfigFile: Hashable, Sendable {
    /// The cloud's base URL (`https://…`; `http://` only with `allow_plain_http`).
    public var cloudURL: String
    public var allowPlainHTTP = false
    /// PEM file of the CA that signs the cloud's certificate; nil = the system trust store.
    public var caFile: String?
    /// PEM files of the station's client certificate and key, for a cloud that asks for one.
    public var clientCertificate: String?
    public var clientKey: String?
    public var station: String
    /// The station's time zone (reads a console's local clock).
    public var timezone = "Asia/Shanghai"
    /// File holding the station's API key (mode 0600; never logged).
    public var keyFile: String
    public var spoolDirectory: String
    /// The spool's ceiling; at it, pollable sources pause and drop files wait (nothing spooled is dropped).
    public var spoolMaxBytes: Int64 = 512 * 1024 * 1024
    public var batchRecords = 500
    public var maxBackoffSeconds = 300.0
    public var requestTimeoutSeconds = 30.0
    public var statusHost = "127.0.0.1"
    /// Port of `/healthz`, `/metrics` and `/status`; 0 = any free port (tests).
    public var statusPort = 9780
    /// The drop directory of the sales system (NDJSON or CSV files, taken when renamed into place).
    public var dropDirectory: String?
    public var dropScanSeconds = 2.0
    public var consoles: [FeedsFile.ATGConsole] = []
    /// HJ 212 monitors at the station that connect to the agent (`hj212:`); nil = no listener.
    public var hj212: HJ212Source?

    /// The agent's HJ 212 listener: where it listens, the station's devices, their keys.
    public struct HJ212Source: Hashable, Sendable {
        /// Monitors on the station's network connect here (the agent's machine).
        public var host = "0.0.0.0"
        public var port = 9212
        public var devices: [FeedsFile.HJ212Device] = []
        /// SM4 keys per device kept apart (YAML `devices: {MN: [{key, since}]}`, mode 0600).
        public var keyFile: String?
        public var keyOverlapHours = 24.0
        /// Give a device a new key (CN 1014) once its key is this old; 0 = never.
        public var keyRotateAfterDays = 0.0
        public init() {}
    }

    public init(cloudURL: String, station: String, keyFile: String, spoolDirectory: String) {
        self.cloudURL = cloudURL
        self.station = station
        self.keyFile = keyFile
        self.spoolDirectory = spoolDirectory
    }
}

extension AgentConfigFile {
    /// Reads and checks an agent configuration.
    public static func decode(yaml text: String) throws(FieldError) -> AgentConfigFile {
        let root: YAMLNode
        do {
            guard let n = try YAMLNode.compose(text) else { throw FieldError("agent", "the file is empty") }
            root = n
        } catch let e as FieldError {
            throw e
        } catch {
            throw FieldError("agent", "not valid YAML: \(error)")
        }
        let top = try YAMLEntry(node: root, path: "agent").mapping()
        guard let cloud = try top.optionalMapping("cloud") else { throw top.error("cloud", "missing (cloud.url is required)") }
        guard let spool = try top.optionalMapping("spool") else { throw top.error("spool", "missing (spool.directory is required)") }
        let url = try cloud.string("url")
        let plain = try cloud.optionalString("allow_plain_http").map { _ throws(FieldError) in try cloud.bool("allow_plain_http") } ?? false
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw cloud.error("url", "must start with https:// (or http:// with allow_plain_http: true), got \"\(url)\"")
        }
        if lower.hasPrefix("http://"), !plain {
            throw cloud.error("url", "is plain HTTP: the station key would cross the network in the clear; use https:// or set allow_plain_http: true")
        }
        var c = AgentConfigFile(cloudURL: url.hasSuffix("/") ? String(url.dropLast()) : url, station: try top.string("station"),
                                keyFile: try top.string("key_file"), spoolDirectory: try spool.string("directory"))
        c.allowPlainHTTP = plain
        c.caFile = try cloud.optionalString("ca_file")
        c.clientCertificate = try cloud.optionalString("client_certificate")
        c.clientKey = try cloud.optionalString("client_key")
        if (c.clientCertificate == nil) != (c.clientKey == nil) {
            throw cloud.error(c.clientCertificate == nil ? "client_certificate" : "client_key", "client_certificate and client_key go together")
        }
        if let tz = try top.optionalString("timezone") {
            guard knownZone(tz) else { throw top.error("timezone", "unknown time zone \(tz) (an IANA name such as Asia/Shanghai)") }
            c.timezone = tz
        }
        if let mb = try spool.optionalInt("max_mb") {
            guard mb >= 1 else { throw spool.error("max_mb", "must be at least 1") }
            c.spoolMaxBytes = Int64(mb) * 1024 * 1024
        }
        if let upload = try top.optionalMapping("upload") {
            if let n = try upload.optionalInt("batch_records") {
                guard (1...5_000).contains(n) else { throw upload.error("batch_records", "expected 1…5000, got \(n)") }
                c.batchRecords = n
            }
            c.maxBackoffSeconds = try seconds(upload, "max_backoff_seconds", 1...86_400) ?? c.maxBackoffSeconds
            c.requestTimeoutSeconds = try seconds(upload, "timeout_seconds", 1...600) ?? c.requestTimeoutSeconds
        }
        if let status = try top.optionalMapping("status") {
            c.statusHost = try status.optionalString("host") ?? c.statusHost
            if let p = try status.optionalInt("port") {
                guard p <= 65535 else { throw status.error("port", "expected 0…65535, got \(p)") }
                c.statusPort = p
            }
        }
        if let drop = try top.optionalMapping("drop_directory") {
            c.dropDirectory = try drop.string("path")
            c.dropScanSeconds = try seconds(drop, "scan_seconds", 0.05...3600) ?? c.dropScanSeconds
        }
        for (i, e) in try top.list("atg_consoles").enumerated() {
            let m = try YAMLEntry(node: e.node, path: "atg_consoles[\(i)]").mapping()
            c.consoles.append(try FeedsFileDecoder.atgConsole(m, station: c.station))
        }
        if let h = try top.optionalMapping("hj212") {
            var source = HJ212Source()
            source.host = try h.optionalString("host") ?? source.host
            if let p = try h.optionalInt("port") {
                guard (0...65535).contains(p) else { throw h.error("port", "expected 0…65535, got \(p)") }
                source.port = p
            }
            source.keyFile = try h.optionalString("key_file")
            source.keyOverlapHours = try seconds(h, "key_overlap_hours", 0...8760) ?? source.keyOverlapHours
            source.keyRotateAfterDays = try seconds(h, "key_rotate_after_days", 0...3650) ?? source.keyRotateAfterDays
            var seen = Set<String>()
            for (i, e) in try h.list("devices").enumerated() {
                let m = try YAMLEntry(node: e.node, path: "hj212.devices[\(i)]").mapping()
                let d = try FeedsFileDecoder.hj212Device(m, station: c.station)
                guard seen.insert(d.mn).inserted else { throw m.error("mn", "\(d.mn) is listed twice") }
                source.devices.append(d)
            }
            guard !source.devices.isEmpty else { throw h.error("devices", "lists no device (an HJ 212 listener needs the monitors' MN and password)") }
            c.hj212 = source
        }
        return c
    }

    private static func seconds(_ m: YAMLMap, _ key: String, _ range: ClosedRange<Double>) throws(FieldError) -> Double? {
        guard let s = try m.optionalString(key) else { return nil }
        guard let d = Double(s), range.contains(d) else {
            throw m.error(key, "expected \(range.lowerBound)…\(range.upperBound), got \"\(s)\"")
        }
        return d
    }
}
