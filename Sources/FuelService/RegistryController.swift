import FuelLedger
import FuelModel
import FuelStore
import FuelWire
import Foundation
import Hummingbird

/// Registry import and edits through the API; every change goes into the audit chain with the
/// value before and after, and running daemons see it at once (this one) or within the refresh
/// interval (replicas).
///
/// - `POST /v1/registry` (admin): a registry file (YAML), upserted as `fuelwarden registry import` does.
/// - `PUT|DELETE /v1/stations/{id}/licences/{kind}`, `PUT|DELETE /v1/stations/{id}/approvals/{kind}`,
///   `PUT /v1/stations/{id}/status`, `PUT|DELETE /v1/suppliers/{id}/licence` (admin).
/// - `PUT /v1/stations/{id}/hazards/{hazard}`, `PUT /v1/stations/{id}/cases/{case}` (inspector or admin):
///   inspectors record what they find and when it is remedied or closed.
public struct RegistryController: Sendable {
    let store: RegistryStore
    let registry: RegistryCache
    static let maxRegistryBytes = 32 * 1024 * 1024

    public init(store: RegistryStore, registry: RegistryCache) {
        self.store = store
        self.registry = registry
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.post("registry", use: importFile)
        group.put("stations/{station}/licences/{kind}") { try await licence($0, $1, remove: false) }
        group.delete("stations/{station}/licences/{kind}") { try await licence($0, $1, remove: true) }
        group.put("stations/{station}/approvals/{kind}") { try await approval($0, $1, remove: false) }
        group.delete("stations/{station}/approvals/{kind}") { try await approval($0, $1, remove: true) }
        group.put("stations/{station}/status", use: status)
        group.put("stations/{station}/hazards/{id}", use: hazard)
        group.put("stations/{station}/cases/{id}", use: violationCase)
        group.put("suppliers/{supplier}/licence") { try await supplierLicence($0, $1, remove: false) }
        group.delete("suppliers/{supplier}/licence") { try await supplierLicence($0, $1, remove: true) }
    }

    struct ImportDTO: Encodable {
        var imported: String
        var sha256: String
        var cities, suppliers, stations, tanks, nozzles, hazards, cases: Int
        enum CodingKeys: String, CodingKey {
            case imported, sha256, cities, suppliers, stations, tanks, nozzles, hazards, cases
        }
    }

    @Sendable func importFile(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let p = try context.requireRegulator(.admin)
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxRegistryBytes)
        } catch {
            throw APIError(.contentTooLarge, "registry file: at most \(Self.maxRegistryBytes) bytes")
        }
        guard let text = String(validating: Array(body.readableBytesView), as: UTF8.self) else {
            throw APIError(.badRequest, "registry file: not UTF-8")
        }
        // PostgreSQL text cannot hold NUL; YAML can write one as \0, \x00, \u0000 or \U00000000.
        if text.contains("\u{0}") || text.range(of: #"\\(0|x00|u0000|U00000000)"#, options: .regularExpression) != nil {
            throw APIError(.unprocessableContent, "registry file: contains a NUL character, which no registry field can hold")
        }
        let parsed: Registry
        do {
            parsed = try RegistryFileDecoder.decode(yaml: text)
        } catch {
            // Well-formed as a request, but not a usable registry: 422 naming the entry and field.
            throw APIError(.unprocessableContent, "registry file: \(error)")
        }
        guard !(parsed.cities.isEmpty && parsed.suppliers.isEmpty && parsed.stations.isEmpty && parsed.priceCeilings.isEmpty) else {
            throw APIError(.unprocessableContent, "registry file: nothing to import (no cities, suppliers, stations or price ceilings)")
        }
        let digest = TokenStore.hash(text).hexString
        let s = try await store.importRegistry(parsed, sourceDigest: digest, actor: p.actor)
        try await registry.reload()
        return try JSONResponse.make(ImportDTO(
            imported: s.description, sha256: digest, cities: s.cities, suppliers: s.suppliers, stations: s.stations,
            tanks: s.tanks, nozzles: s.nozzles, hazards: s.hazards, cases: s.cases))
    }

    struct EditDTO: Encodable {
        var target: String
        var action: String
        var before: JSONFragment
        var after: JSONFragment
        var auditSeq: Int64
        enum CodingKeys: String, CodingKey {
            case target, action, before, after, auditSeq = "audit_seq"
        }
    }

    /// Applies an edit, refreshes this daemon's registry and answers what changed.
    func apply(_ edit: RegistryEdit, target: String, by p: Principal) async throws -> Response {
        let r = try await store.apply(edit, actor: p.actor)
        try await registry.reload()
        return try JSONResponse.make(EditDTO(target: target, action: edit.action, before: JSONFragment(r.before),
                                             after: JSONFragment(r.after), auditSeq: r.auditSeq))
    }

    func knownStation(_ context: FuelRequestContext) async throws -> Station {
        let id = try context.parameters.require("station")
        guard let profile = try await registry.profileReloadingIfUnknown(id) else { throw APIError(.notFound, "station \(id) is not in the registry") }
        return profile.station
    }

    func licence(_ request: Request, _ context: FuelRequestContext, remove: Bool) async throws -> Response {
        let p = try context.requireRegulator(.admin)
        let station = try await knownStation(context)
        let kind = try context.parameters.require("kind")
        guard InspectionDocuments.isLicenceKind(kind) else {
            throw APIError(.notFound, "licence kind \(kind) is unknown (one of \(InspectionDocuments.licences.joined(separator: ", ")))")
        }
        let licence = remove ? nil : try await Self.licenceBody(request)
        return try await apply(.licence(station: station.id, kind: kind, licence), target: "\(station.id)/licences/\(kind)", by: p)
    }

    static func licenceBody(_ request: Request) async throws -> Licence {
        let l = try await RequestJSON.decode(
            Licence.self, from: request, example: #"{"number":"…","issued":"YYYY-MM-DD","expires":"YYYY-MM-DD","state":"valid|revoked"}"#)
        try RequestJSON.requireNoNUL(l.number, field: "number")
        guard !RequestJSON.isBlank(l.number) else { throw APIError(.badRequest, "number: must not be empty") }
        guard l.number.unicodeScalars.count <= 200 else { throw APIError(.badRequest, "number: at most 200 characters") }
        if let i = l.issued, let e = l.expires, e < i { throw APIError(.unprocessableContent, "expires: \(e) is before issued \(i)") }
        return l
    }

    struct ApprovalBody: Decodable { var granted: Bool }

    func approval(_ request: Request, _ context: FuelRequestContext, remove: Bool) async throws -> Response {
        let p = try context.requireRegulator(.admin)
        let station = try await knownStation(context)
        let kind = try context.parameters.require("kind")
        guard InspectionDocuments.isApprovalKind(kind) else {
            throw APIError(.notFound, "approval kind \(kind) is unknown (one of \(InspectionDocuments.approvals.joined(separator: ", ")))")
        }
        let granted = remove ? nil : try await RequestJSON.decode(ApprovalBody.self, from: request, example: #"{"granted":true}"#).granted
        return try await apply(.approval(station: station.id, kind: kind, granted), target: "\(station.id)/approvals/\(kind)", by: p)
    }

    struct StatusBody: Decodable { var status: String }

    @Sendable func status(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let p = try context.requireRegulator(.admin)
        let station = try await knownStation(context)
        let text = try await RequestJSON.decode(StatusBody.self, from: request, example: #"{"status":"active|suspended|revoked"}"#).status
        guard let status = StationStatus(rawValue: text) else { throw APIError(.badRequest, "status: expected active, suspended or revoked, got \"\(text)\"") }
        return try await apply(.status(station: station.id, status), target: "\(station.id)/status", by: p)
    }

    struct HazardBody: Decodable {
        var description: String?
        var opened: CivilDate
        var remedied: CivilDate?
    }

    @Sendable func hazard(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let p = try context.requireRegulator(.inspector)
        var station = try await knownStation(context)
        let id = try context.parameters.require("id")
        let b = try await RequestJSON.decode(
            HazardBody.self, from: request, example: #"{"description":"…","opened":"YYYY-MM-DD","remedied":"YYYY-MM-DD or null"}"#)
        try RequestJSON.requireNoNUL(b.description, field: "description")
        try RequestJSON.requireAtMost(2000, b.description, field: "description")
        let h = SafetyHazard(id: id, description: b.description ?? "", opened: b.opened, remedied: b.remedied)
        station.hazards.removeAll { $0.id == id }
        station.hazards.append(h)
        try Self.validate(station)
        return try await apply(.hazard(station: station.id, h), target: "\(station.id)/hazards/\(id)", by: p)
    }

    struct CaseBody: Decodable {
        var description: String?
        var serious: Bool
        var opened: CivilDate
        var closed: CivilDate?
    }

    @Sendable func violationCase(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let p = try context.requireRegulator(.inspector)
        var station = try await knownStation(context)
        let id = try context.parameters.require("id")
        let b = try await RequestJSON.decode(
            CaseBody.self, from: request, example: #"{"description":"…","serious":true,"opened":"YYYY-MM-DD","closed":"YYYY-MM-DD or null"}"#)
        try RequestJSON.requireNoNUL(b.description, field: "description")
        try RequestJSON.requireAtMost(2000, b.description, field: "description")
        let c = ViolationCase(id: id, description: b.description ?? "", serious: b.serious, opened: b.opened, closed: b.closed)
        station.cases.removeAll { $0.id == id }
        station.cases.append(c)
        try Self.validate(station)
        return try await apply(.violationCase(station: station.id, c), target: "\(station.id)/cases/\(id)", by: p)
    }

    static func validate(_ station: Station) throws {
        do {
            try RegistryValidator.validateInspectionEntries(station, path: station.id)
        } catch {
            throw APIError(.unprocessableContent, "\(error)")
        }
    }

    func supplierLicence(_ request: Request, _ context: FuelRequestContext, remove: Bool) async throws -> Response {
        let p = try context.requireRegulator(.admin)
        let id = try context.parameters.require("supplier")
        let licence = remove ? nil : try await Self.licenceBody(request)
        return try await apply(.supplierLicence(supplier: id, licence), target: "suppliers/\(id)/licence", by: p)
    }
}

/// JSON text embedded as JSON (not as a string) in an answer; text that does not parse is `null`.
struct JSONFragment: Encodable {
    let value: JSONValue

    init(_ text: String) { value = (try? JSONParser.parse(text)) ?? .null }

    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
