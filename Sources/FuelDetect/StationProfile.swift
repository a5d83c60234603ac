import FuelModel

/// What detection needs to know about a station from the registry.
public struct StationProfile: Hashable, Sendable {
    public var station: Station
    public var clock: LocalClock
    /// Ceilings for the station's city and its province.
    public var ceilings: [PriceCeiling]
    /// Registered wholesalers by id (empty: supplier checks are skipped).
    public var suppliers: [String: Supplier]

    public init(station: Station, ceilings: [PriceCeiling], suppliers: [Supplier] = []) {
        self.station = station
        self.suppliers = Dictionary(suppliers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.clock = LocalClock(timezone: station.timezone)
        let province = String(station.city.prefix(2)) + "0000"
        self.ceilings = ceilings.filter { $0.region == station.city || $0.region == province }
    }

    public init?(stationID: String, registry: Registry) {
        guard let s = registry.stations.first(where: { $0.id == stationID }) else { return nil }
        self.init(station: s, ceilings: registry.priceCeilings, suppliers: registry.suppliers)
    }

    /// The ceiling in force for a grade at an instant (station-local date).
    public func ceiling(grade: String, at t: Timestamp) -> PriceCeiling? {
        Registry(priceCeilings: ceilings).ceiling(grade: grade, city: station.city, on: clock.day(of: t))
    }

    /// The tank a nozzle draws from, if both are registered.
    public func tankOf(nozzle: String) -> Tank? {
        guard let n = station.nozzle(nozzle) else { return nil }
        return station.tank(n.tank)
    }
}
