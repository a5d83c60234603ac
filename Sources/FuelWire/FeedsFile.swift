import FuelModel

/// Telemetry endpoints of the stations: the Veeder-Root consoles the daemon polls and the HJ 212
/// devices allowed to connect to its listener (file `feeds.file`, see `config/feeds.example.yaml`).
public struct FeedsFile: Hashable, Sendable {
    public var consoles: [ATGConsole] = []
    public var devices: [HJ212Device] = []

    public init(consoles: [ATGConsole] = [], devices: [HJ212Device] = []) {
        self.consoles = consoles
        self.devices = devices
    }

    /// A Veeder-Root TLS console (or a compatible gauge) reachable over TCP.
    public struct ATGConsole: Hashable, Sendable {
        /// Which of the console's formats to poll: computer (`i201`) or display (`I201` report text).
        public enum Format: String, Sendable, Hashable { case computer, display }
        public var station: String
        public var host: String
        public var port: Int
        public var securityCode: String?
        public var format: Format
        public var units: VeederRootTLS.Units
        public var intervalSeconds: Double
        /// Console tank number → registry tank id; tanks not listed are `T<n>`.
        public var tanks: [Int: String]

        public init(station: String, host: String, port: Int = 10001, securityCode: String? = nil, format: Format = .computer,
                    units: VeederRootTLS.Units = .metric, intervalSeconds: Double = 60, tanks: [Int: String] = [:]) {
            self.station = station
            self.host = host
            self.port = port
            self.securityCode = securityCode
            self.format = format
            self.units = units
            self.intervalSeconds = intervalSeconds
            self.tanks = tanks
        }

        /// The registry tank of console tank `n`: the mapping, else `T<n>`.
        public func tankID(_ n: Int) -> String { tanks[n] ?? "T\(n)" }
        /// How the console is named in logs, device status records and alerts.
        public var name: String { "atg:\(host):\(port)" }
    }

    /// An HJ 212 vapour-recovery monitor: its MN, the station it belongs to, its password and
    /// how its factor codes map to readings.
    public struct HJ212Device: Hashable, Sendable {
        public var mn: String
        public var station: String
        public var password: String
        public var factors: HJ212FactorMap
        /// The device's 16-byte SM4 key (HJ 212-2025 §6.4: the CP of its data uploads is encrypted
        /// with it); nil for a 2017 device or one that sends plain CP. Never logged or answered.
        public var sm4Key: [UInt8]?

        public init(mn: String, station: String, password: String, factors: HJ212FactorMap = HJ212FactorMap(), sm4Key: [UInt8]? = nil) {
            self.mn = mn
            self.station = station
            self.password = password
            self.factors = factors
            self.sm4Key = sm4Key
        }
    }
}

/// Reads the feeds file; every error names the entry and the field.
public enum FeedsFileDecoder {
    /// Reads and checks a feeds file; errors name the entry and field.
    public static func decode(yaml text: String) throws(FieldError) -> FeedsFile {
        let root: YAMLNode
        do {
            guard let n = try YAMLNode.compose(text) else { return FeedsFile() }
            root = n
        } catch {
            throw FieldError("feeds", "not valid YAML: \(error)")
        }
        let top = try YAMLEntry(node: root, path: "feeds").mapping()
        var out = FeedsFile()
        for (i, e) in try top.list("atg_consoles").enumerated() {
            let m = try YAMLEntry(node: e.node, path: "atg_consoles[\(i)]").mapping()
            out.consoles.append(try atgConsole(m, station: try m.string("station")))
        }
        var seenMN = Set<String>()
        for (i, e) in try top.list("hj212_devices").enumerated() {
            let m = try YAMLEntry(node: e.node, path: "hj212_devices[\(i)]").mapping()
            let device = try hj212Device(m, station: try m.string("station"))
            guard seenMN.insert(device.mn).inserted else { throw m.error("mn", "\(device.mn) is listed twice") }
            out.devices.append(device)
        }
        return out
    }

    /// One HJ 212 device entry (`mn`, `password`, `sm4_key`, the factor maps) of `station`; shared
    /// with the station agent's configuration.
    static func hj212Device(_ m: YAMLMap, station: String) throws(FieldError) -> FeedsFile.HJ212Device {
        let mn = try m.string("mn")
        var map = HJ212FactorMap()
        if let am = try m.optionalMapping("al_ratio") {
            for k in am.keys { map.alRatio[k] = try am.string(k) }
        }
        if let pm = try m.optionalMapping("tank_pressure") {
            for k in pm.keys { map.tankPressure[k] = try pm.string(k) }
        }
        if let cm = try m.optionalMapping("concentration") {
            map.concentration = [:]
            for k in cm.keys { map.concentration[k] = try cm.positive(k) }
        }
        for code in Array(map.alRatio.keys) + Array(map.tankPressure.keys) + Array(map.concentration.keys) where code.contains("-") || code.contains("=") {
            throw m.error(code, "a factor code cannot contain - or =")
        }
        // 32 hex digits; the message never repeats the value (it is a secret).
        let key = try m.optionalString("sm4_key").map { text throws(FieldError) -> [UInt8] in
            guard text.count == 32, let bytes = Hex.decode(text) else { throw m.error("sm4_key", "must be 32 hexadecimal digits (16 bytes)") }
            return bytes
        }
        return FeedsFile.HJ212Device(mn: mn, station: station, password: try m.string("password"), factors: map, sm4Key: key)
    }

    /// One console entry (`host`, `port`, `format`, `units`, `security_code`, `interval_seconds`,
    /// `tanks`) of `station`; shared with the station agent's configuration.
    static func atgConsole(_ m: YAMLMap, station: String) throws(FieldError) -> FeedsFile.ATGConsole {
        let formatText = try m.optionalString("format") ?? "computer"
        guard let format = FeedsFile.ATGConsole.Format(rawValue: formatText) else {
            throw m.error("format", "must be computer or display, got \"\(formatText)\"")
        }
        let unitsText = try m.optionalString("units") ?? "metric"
        guard let units = VeederRootTLS.Units(rawValue: unitsText) else {
            throw m.error("units", "must be metric or us, got \"\(unitsText)\"")
        }
        let port = try m.optionalInt("port") ?? 10001
        guard (1...65535).contains(port) else { throw m.error("port", "expected 1…65535, got \(port)") }
        let code = try m.optionalString("security_code")
        if let code, code.utf8.count != 6 { throw m.error("security_code", "must be 6 characters") }
        var tanks: [Int: String] = [:]
        if let tm = try m.optionalMapping("tanks") {
            for k in tm.keys {
                guard let n = Int(k), (1...99).contains(n) else { throw tm.error(k, "console tank numbers are 1…99") }
                tanks[n] = try tm.string(k)
            }
        }
        let interval = try m.optionalString("interval_seconds").map { s throws(FieldError) -> Double in
            guard let d = Double(s), d >= 1, d <= 86_400 else { throw m.error("interval_seconds", "expected 1…86400, got \"\(s)\"") }
            return d
        } ?? 60
        return FeedsFile.ATGConsole(
            station: station, host: try m.string("host"), port: port, securityCode: code, format: format,
            units: units, intervalSeconds: interval, tanks: tanks)
    }
}
