import FuelModel

/// Reads the registry file (YAML, the format of the design brief's "Registry file").
///
/// Every error names the entry and the field, e.g.
/// `stations[2] (LN-SY-0003).nozzles[0].tank: unknown tank T9`.
public enum RegistryFileDecoder {
    /// Reads a registry file (YAML) and checks it; errors name the entry and field.
    public static func decode(yaml text: String) throws(FieldError) -> Registry {
        let root: YAMLNode
        do {
            guard let n = try YAMLNode.compose(text) else { throw FieldError("registry", "the file is empty") }
            root = n
        } catch let e as FieldError {
            throw e
        } catch {
            throw FieldError("registry", "not valid YAML: \(error)")
        }
        let top = try YAMLEntry(node: root, path: "registry").mapping()
        var registry = Registry()
        for (i, e) in try top.list("cities").enumerated() {
            registry.cities.append(try city(e.named(i, "cities")))
        }
        for (i, e) in try top.list("suppliers").enumerated() {
            registry.suppliers.append(try supplier(e.named(i, "suppliers")))
        }
        for (i, e) in try top.list("stations").enumerated() {
            registry.stations.append(try station(e.named(i, "stations")))
        }
        for (i, e) in try top.list("price_ceilings").enumerated() {
            let m = try e.named(i, "price_ceilings").mapping()
            registry.priceCeilings.append(PriceCeiling(
                region: try m.string("region"), grade: try m.string("grade"),
                unitPrice: try m.positive("unit_price"), from: try m.date("from")))
        }
        try RegistryValidator.validate(registry)
        return registry
    }

    private static func city(_ e: YAMLEntry) throws(FieldError) -> City {
        let m = try e.mapping()
        var contacts: [Contact] = []
        for (i, c) in try m.list("contacts").enumerated() {
            let cm = try c.named(i, "\(e.path).contacts").mapping()
            let roleText = try cm.string("role")
            guard let role = Contact.Role(rawValue: roleText) else {
                throw cm.error("role", "must be leader, responsible or liaison, got \"\(roleText)\"")
            }
            contacts.append(Contact(role: role, name: try cm.string("name"), phone: try cm.optionalString("phone")))
        }
        return City(code: try m.string("code"), name: try m.string("name"), quota: try m.optionalInt("quota"), contacts: contacts)
    }

    private static func supplier(_ e: YAMLEntry) throws(FieldError) -> Supplier {
        let m = try e.mapping()
        return Supplier(id: try m.string("id"), name: try m.string("name"), licence: try m.optionalLicence("licence"))
    }

    private static func station(_ e: YAMLEntry) throws(FieldError) -> Station {
        let m = try e.mapping()
        let hoursText = try m.optionalString("hours") ?? "24h"
        guard let hours = OpeningHours(hoursText) else { throw m.error("hours", "must be 24h or HH:MM-HH:MM, got \"\(hoursText)\"") }
        let statusText = try m.optionalString("status") ?? "active"
        guard let status = StationStatus(rawValue: statusText) else {
            throw m.error("status", "must be active, suspended or revoked, got \"\(statusText)\"")
        }
        var licences: [String: Licence] = [:]
        if let lm = try m.optionalMapping("licences") {
            for key in lm.keys { licences[key] = try lm.optionalLicence(key) }
        }
        var approvals: [String: Bool] = [:]
        if let am = try m.optionalMapping("approvals") {
            for key in am.keys { approvals[key] = try am.bool(key) }
        }
        var tanks: [Tank] = []
        for (i, t) in try m.list("tanks").enumerated() {
            let tm = try t.named(i, "\(m.path).tanks").mapping()
            tanks.append(Tank(id: try tm.string("id"), grade: try tm.string("grade"), capacityL: try tm.positive("capacity_l")))
        }
        var nozzles: [Nozzle] = []
        for (i, n) in try m.list("nozzles").enumerated() {
            let nm = try n.named(i, "\(m.path).nozzles").mapping()
            nozzles.append(Nozzle(id: try nm.string("id"), tank: try nm.string("tank"), maxFlowLPM: try nm.positive("max_flow_lpm")))
        }
        var hazards: [SafetyHazard] = []
        for (i, h) in try m.list("hazards").enumerated() {
            let hm = try h.named(i, "\(m.path).hazards").mapping()
            hazards.append(SafetyHazard(
                id: try hm.string("id"), description: try hm.optionalString("description") ?? "",
                opened: try hm.date("opened"), remedied: try hm.optionalDate("remedied")))
        }
        var cases: [ViolationCase] = []
        for (i, c) in try m.list("cases").enumerated() {
            let cm = try c.named(i, "\(m.path).cases").mapping()
            cases.append(ViolationCase(
                id: try cm.string("id"), description: try cm.optionalString("description") ?? "",
                serious: try cm.optionalString("serious") == nil ? false : try cm.bool("serious"),
                opened: try cm.date("opened"), closed: try cm.optionalDate("closed")))
        }
        return Station(
            id: try m.string("id"), name: try m.string("name"), city: try m.string("city"),
            address: try m.optionalString("address"), hours: hours,
            timezone: try m.optionalString("timezone") ?? "Asia/Shanghai", status: status,
            licences: licences, approvals: approvals, tanks: tanks, nozzles: nozzles, hazards: hazards, cases: cases)
    }
}

/// Cross-entry checks: unique ids, references that resolve, plausible figures.
public enum RegistryValidator {
    /// Checks a registry: identifiers, unique ids, known zones, references between entries.
    public static func validate(_ r: Registry) throws(FieldError) {
        var cityCodes = Set<String>()
        for (i, c) in r.cities.enumerated() {
            guard c.code.count == 6, c.code.allSatisfy(\.isNumber) else {
                throw FieldError("cities[\(i)] (\(c.code)).code", "must be a 6-digit division code")
            }
            guard cityCodes.insert(c.code).inserted else { throw FieldError("cities[\(i)] (\(c.code)).code", "appears twice") }
        }
        var supplierIDs = Set<String>()
        for (i, s) in r.suppliers.enumerated() {
            guard supplierIDs.insert(s.id).inserted else { throw FieldError("suppliers[\(i)] (\(s.id)).id", "appears twice") }
        }
        var stationIDs = Set<String>()
        for (i, s) in r.stations.enumerated() {
            let p = "stations[\(i)] (\(s.id))"
            guard isIdentifier(s.id) else { throw FieldError("\(p).id", "use letters, digits, '-' and '_' only (at most 64)") }
            guard stationIDs.insert(s.id).inserted else { throw FieldError("\(p).id", "appears twice") }
            guard cityCodes.contains(s.city) else { throw FieldError("\(p).city", "unknown city \(s.city)") }
            guard knownZone(s.timezone) else { throw FieldError("\(p).timezone", "unknown time zone \(s.timezone)") }
            var tankIDs = Set<String>()
            for (j, t) in s.tanks.enumerated() {
                guard isIdentifier(t.id) else { throw FieldError("\(p).tanks[\(j)].id", "use letters, digits, '-' and '_' only") }
                guard tankIDs.insert(t.id).inserted else { throw FieldError("\(p).tanks[\(j)].id", "tank \(t.id) appears twice") }
            }
            var nozzleIDs = Set<String>()
            for (j, n) in s.nozzles.enumerated() {
                guard isIdentifier(n.id) else { throw FieldError("\(p).nozzles[\(j)].id", "use letters, digits, '-' and '_' only") }
                guard nozzleIDs.insert(n.id).inserted else { throw FieldError("\(p).nozzles[\(j)].id", "nozzle \(n.id) appears twice") }
                guard tankIDs.contains(n.tank) else { throw FieldError("\(p).nozzles[\(j)].tank", "unknown tank \(n.tank)") }
                guard n.maxFlowLPM <= 200 else { throw FieldError("\(p).nozzles[\(j)].max_flow_lpm", "above the 200 L/min standard maximum") }
            }
            try validateInspectionEntries(s, path: p)
        }
    }

    /// Hazards and cases: unique ids, closing dates not before opening dates; licence and approval kinds known.
    public static func validateInspectionEntries(_ s: Station, path p: String) throws(FieldError) {
        for kind in s.licences.keys where !InspectionDocuments.isLicenceKind(kind) {
            throw FieldError("\(p).licences.\(kind)", "unknown licence kind (one of \(InspectionDocuments.licences.joined(separator: ", ")))")
        }
        for kind in s.approvals.keys where !InspectionDocuments.isApprovalKind(kind) {
            throw FieldError("\(p).approvals.\(kind)", "unknown approval kind (one of \(InspectionDocuments.approvals.joined(separator: ", ")))")
        }
        var ids = Set<String>()
        for (j, h) in s.hazards.enumerated() {
            guard isIdentifier(h.id) else { throw FieldError("\(p).hazards[\(j)].id", "use letters, digits, '-' and '_' only") }
            guard ids.insert(h.id).inserted else { throw FieldError("\(p).hazards[\(j)].id", "hazard \(h.id) appears twice") }
            if let r = h.remedied, r < h.opened { throw FieldError("\(p).hazards[\(j)].remedied", "\(r) is before opened \(h.opened)") }
        }
        ids.removeAll()
        for (j, c) in s.cases.enumerated() {
            guard isIdentifier(c.id) else { throw FieldError("\(p).cases[\(j)].id", "use letters, digits, '-' and '_' only") }
            guard ids.insert(c.id).inserted else { throw FieldError("\(p).cases[\(j)].id", "case \(c.id) appears twice") }
            if let r = c.closed, r < c.opened { throw FieldError("\(p).cases[\(j)].closed", "\(r) is before opened \(c.opened)") }
        }
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_"
        }
    }
}

/// A YAML node with the path used in error messages.
struct YAMLEntry {
    var node: YAMLNode
    var path: String

    func named(_ index: Int, _ list: String) -> YAMLEntry {
        var label = "\(list)[\(index)]"
        if let id = node["id"]?.string ?? node["code"]?.string { label += " (\(id))" }
        return YAMLEntry(node: node, path: label)
    }

    func mapping() throws(FieldError) -> YAMLMap {
        guard case .mapping(let m) = node else { throw FieldError(path, "expected a mapping") }
        var values: [String: YAMLNode] = [:]
        var keys: [String] = []
        for pair in m {
            guard let ks = pair.key.string else { throw FieldError(path, "keys must be strings") }
            keys.append(ks)
            values[ks] = pair.value
        }
        return YAMLMap(values: values, keys: keys, path: path)
    }
}

struct YAMLMap {
    var values: [String: YAMLNode]
    var keys: [String]
    var path: String

    func error(_ key: String, _ m: String) -> FieldError { FieldError("\(path).\(key)", m) }

    private func scalar(_ key: String) throws(FieldError) -> String? {
        guard let n = values[key] else { return nil }
        guard case .scalar(let s) = n else { throw error(key, "expected a single value") }
        if s.isPlain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return nil }
        return s.string
    }

    func optionalString(_ key: String) throws(FieldError) -> String? { try scalar(key) }

    func string(_ key: String) throws(FieldError) -> String {
        guard let s = try scalar(key), !s.isEmpty else { throw error(key, "missing") }
        return s
    }

    func optionalInt(_ key: String) throws(FieldError) -> Int? {
        guard let s = try scalar(key) else { return nil }
        guard let i = Int(s), i >= 0 else { throw error(key, "expected a non-negative integer, got \"\(s)\"") }
        return i
    }

    func positive(_ key: String) throws(FieldError) -> Double {
        let s = try string(key)
        guard let d = Double(s), d.isFinite, d > 0 else { throw error(key, "expected a positive number, got \"\(s)\"") }
        return d
    }

    func bool(_ key: String) throws(FieldError) -> Bool {
        let s = try string(key)
        switch s.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw error(key, "expected true or false, got \"\(s)\"")
        }
    }

    func date(_ key: String) throws(FieldError) -> CivilDate {
        let s = try string(key)
        guard let d = CivilDate(iso: s) else { throw error(key, "expected a YYYY-MM-DD date, got \"\(s)\"") }
        return d
    }

    func optionalDate(_ key: String) throws(FieldError) -> CivilDate? {
        guard try scalar(key) != nil else { return nil }
        return try date(key)
    }

    func list(_ key: String) throws(FieldError) -> [YAMLEntry] {
        guard let n = values[key] else { return [] }
        if case .scalar(let s) = n, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        guard case .sequence(let seq) = n else { throw error(key, "expected a list") }
        return seq.map { YAMLEntry(node: $0, path: "\(path).\(key)") }
    }

    func optionalMapping(_ key: String) throws(FieldError) -> YAMLMap? {
        guard let n = values[key] else { return nil }
        return try YAMLEntry(node: n, path: "\(path).\(key)").mapping()
    }

    func optionalLicence(_ key: String) throws(FieldError) -> Licence? {
        guard let lm = try optionalMapping(key) else { return nil }
        let stateText = try lm.optionalString("state") ?? "valid"
        guard let state = Licence.State(rawValue: stateText) else {
            throw lm.error("state", "must be valid or revoked, got \"\(stateText)\"")
        }
        return Licence(number: try lm.string("number"), issued: try lm.optionalDate("issued"),
                       expires: try lm.optionalDate("expires"), state: state)
    }
}
