/// One of a city's three contacts (Guizhou 附件2): leader in charge, responsible person, liaison.
public struct Contact: Hashable, Codable, Sendable {
    /// A city contact's role (Guizhou 附件2): leader in charge, responsible person, liaison.
    public enum Role: String, Codable, Sendable, CaseIterable {
        case leader, responsible, liaison
    }
    public var role: Role
    public var name: String
    public var phone: String?

    public init(role: Role, name: String, phone: String? = nil) {
        self.role = role
        self.name = name
        self.phone = phone
    }
}

/// A city (prefecture) with its reporting quota and its three contacts.
public struct City: Hashable, Codable, Sendable {
    /// Administrative division code, e.g. `210100` for 沈阳市.
    public var code: String
    public var name: String
    /// Number of stations the city is expected to have reporting.
    public var quota: Int?
    public var contacts: [Contact]

    public init(code: String, name: String, quota: Int? = nil, contacts: [Contact] = []) {
        self.code = code
        self.name = name
        self.quota = quota
        self.contacts = contacts
    }

    /// The province's code: the first two digits followed by `0000`.
    public var provinceCode: String { String(code.prefix(2)) + "0000" }
}

/// A numbered licence or certificate with its validity.
public struct Licence: Hashable, Codable, Sendable {
    /// Valid, or revoked by the issuing authority.
    public enum State: String, Codable, Sendable {
        case valid, revoked
    }
    public var number: String
    public var issued: CivilDate?
    public var expires: CivilDate?
    public var state: State

    public init(number: String, issued: CivilDate? = nil, expires: CivilDate? = nil, state: State = .valid) {
        self.number = number
        self.issued = issued
        self.expires = expires
        self.state = state
    }

    enum CodingKeys: String, CodingKey { case number, issued, expires, state }

    /// A licence without `state` is valid.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        number = try c.decode(String.self, forKey: .number)
        issued = try c.decodeIfPresent(CivilDate.self, forKey: .issued)
        expires = try c.decodeIfPresent(CivilDate.self, forKey: .expires)
        state = try c.decodeIfPresent(State.self, forKey: .state) ?? .valid
    }
}

/// A licensed wholesaler that delivers fuel, with its wholesale licence.
public struct Supplier: Hashable, Codable, Sendable {
    public var id: String
    public var name: String
    public var licence: Licence?

    public init(id: String, name: String, licence: Licence? = nil) {
        self.id = id
        self.name = name
        self.licence = licence
    }
}

/// An underground tank: its grade, capacity and strapping table.
public struct Tank: Hashable, Codable, Sendable {
    public var id: String
    public var grade: String
    public var capacityL: Double

    public init(id: String, grade: String, capacityL: Double) {
        self.id = id
        self.grade = grade
        self.capacityL = capacityL
    }
}

/// A nozzle (油枪): the tank it draws from and its rated maximum flow.
public struct Nozzle: Hashable, Codable, Sendable {
    public var id: String
    public var tank: String
    /// Maximum flow in litres per minute (≤ 200 by standard).
    public var maxFlowLPM: Double

    public init(id: String, tank: String, maxFlowLPM: Double) {
        self.id = id
        self.tank = tank
        self.maxFlowLPM = maxFlowLPM
    }
}

/// Whether a station may trade: active, suspended (ordered to stop) or revoked.
public enum StationStatus: String, Codable, Sendable, CaseIterable {
    case active, suspended, revoked
}

/// A retail station as registered: city, hours, status, licences, approvals, tanks, nozzles, hazards and cases.
public struct Station: Hashable, Codable, Sendable {
    public var id: String
    public var name: String
    public var city: String
    public var address: String?
    public var hours: OpeningHours
    /// IANA time zone of the station's local time.
    public var timezone: String
    public var status: StationStatus
    /// Licences by kind: `business`, `hazardous_chemicals`, `retail_approval`.
    public var licences: [String: Licence]
    /// Approvals by kind: `environmental`, `planning`.
    public var approvals: [String: Bool]
    public var tanks: [Tank]
    public var nozzles: [Nozzle]
    /// Safety hazards found at the station, open and remedied.
    public var hazards: [SafetyHazard]
    /// Cases of illegal operation, open and closed.
    public var cases: [ViolationCase]

    public init(
        id: String, name: String, city: String, address: String? = nil, hours: OpeningHours = .allDay,
        timezone: String = "Asia/Shanghai", status: StationStatus = .active, licences: [String: Licence] = [:],
        approvals: [String: Bool] = [:], tanks: [Tank] = [], nozzles: [Nozzle] = [],
        hazards: [SafetyHazard] = [], cases: [ViolationCase] = []
    ) {
        self.id = id
        self.name = name
        self.city = city
        self.address = address
        self.hours = hours
        self.timezone = timezone
        self.status = status
        self.licences = licences
        self.approvals = approvals
        self.tanks = tanks
        self.nozzles = nozzles
        self.hazards = hazards
        self.cases = cases
    }

    /// The tank with this id, if registered.
    public func tank(_ id: String) -> Tank? { tanks.first { $0.id == id } }
    /// The nozzle with this id, if registered.
    public func nozzle(_ id: String) -> Nozzle? { nozzles.first { $0.id == id } }
}

/// The highest unit price allowed for a grade in a region from a date on.
public struct PriceCeiling: Hashable, Codable, Sendable {
    /// A city code or a province code (`210000`).
    public var region: String
    public var grade: String
    public var unitPrice: Double
    public var from: CivilDate

    public init(region: String, grade: String, unitPrice: Double, from: CivilDate) {
        self.region = region
        self.grade = grade
        self.unitPrice = unitPrice
        self.from = from
    }
}

/// The master data Fuelwarden checks records against.
public struct Registry: Hashable, Codable, Sendable {
    public var cities: [City]
    public var suppliers: [Supplier]
    public var stations: [Station]
    public var priceCeilings: [PriceCeiling]

    public init(cities: [City] = [], suppliers: [Supplier] = [], stations: [Station] = [], priceCeilings: [PriceCeiling] = []) {
        self.cities = cities
        self.suppliers = suppliers
        self.stations = stations
        self.priceCeilings = priceCeilings
    }

    /// The ceiling in force for a grade at a city on a date: the city's own beats the province's,
    /// and the latest `from` not after the date wins.
    public func ceiling(grade: String, city: String, on date: CivilDate) -> PriceCeiling? {
        let province = String(city.prefix(2)) + "0000"
        func latest(_ region: String) -> PriceCeiling? {
            priceCeilings
                .filter { $0.region == region && $0.grade == grade && $0.from <= date }
                .max { $0.from < $1.from }
        }
        return latest(city) ?? latest(province)
    }
}
