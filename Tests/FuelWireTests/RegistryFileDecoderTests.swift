import FuelModel
import FuelWire
import Testing

@Suite struct RegistryFileDecoderTests {
    static let brief = """
        cities:    [{code: "210100", name: 沈阳市, quota: 300, contacts: [{role: leader, name: 张三, phone: "1"}, {role: responsible, name: 李四}, {role: liaison, name: 王五}]}]
        suppliers: [{id: SUP-001, name: 批发商, licence: {number: LN-1, expires: 2027-12-31}}]
        stations:
          - id: LN-SY-0001
            name: 一号站
            city: "210100"
            hours: "06:00-22:00"
            status: active
            licences: {business: {number: B1, expires: 2028-01-01}, hazardous_chemicals: {number: H1, expires: 2027-06-30}, retail_approval: {number: R1, expires: 2030-01-01, state: revoked}}
            approvals: {environmental: true, planning: false}
            tanks:   [{id: T1, grade: "92", capacity_l: 30000}]
            nozzles: [{id: N1, tank: T1, max_flow_lpm: 50}]
        price_ceilings: [{region: "210000", grade: "92", unit_price: 8.05, from: 2026-11-01}]
        """

    @Test func decodesTheBriefsFormat() throws {
        let r = try RegistryFileDecoder.decode(yaml: Self.brief)
        #expect(r.cities.first?.contacts.map(\.role) == [.leader, .responsible, .liaison])
        #expect(r.suppliers.first?.licence?.expires == CivilDate(year: 2027, month: 12, day: 31))
        let s = try #require(r.stations.first)
        #expect(s.hours == .window(open: 360, close: 1320))
        #expect(s.licences["retail_approval"]?.state == .revoked)
        #expect(s.approvals == ["environmental": true, "planning": false])
        #expect(s.nozzles.first?.tank == "T1" && s.tanks.first?.capacityL == 30000)
        #expect(r.priceCeilings.first?.unitPrice == 8.05)
    }

    @Test(arguments: [
        ("max_flow_lpm: 50", "max_flow_lpm: fast", "stations[0] (LN-SY-0001).nozzles[0] (N1).max_flow_lpm: expected a positive number"),
        ("{id: N1, tank: T1", "{id: N1, tank: T9", "stations[0] (LN-SY-0001).nozzles[0].tank: unknown tank T9"),
        ("city: \"210100\"", "city: \"210999\"", "stations[0] (LN-SY-0001).city: unknown city 210999"),
        ("status: active", "status: closed", "stations[0] (LN-SY-0001).status: must be active, suspended or revoked"),
        ("hours: \"06:00-22:00\"", "hours: \"6am\"", "stations[0] (LN-SY-0001).hours: must be 24h or HH:MM-HH:MM"),
        ("role: liaison", "role: boss", "cities[0] (210100).contacts[2].role: must be leader, responsible or liaison"),
        ("from: 2026-11-01", "from: 2026-11-31", "price_ceilings[0].from: expected a YYYY-MM-DD date"),
    ])
    func errorsNameEntryAndField(find: String, replace: String, message: String) {
        let text = Self.brief.replacingOccurrences(of: find, with: replace)
        #expect(text != Self.brief)
        do {
            _ = try RegistryFileDecoder.decode(yaml: text)
            Issue.record("accepted a bad registry")
        } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }
}
