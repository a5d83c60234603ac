import FuelModel
import Foundation
import Logging
import PostgresNIO

/// One change to the registry made through the API. Each is applied in a transaction together with
/// its audit-chain entry (who, what, the value before and after).
public enum RegistryEdit: Sendable, Hashable {
    /// Sets (or, with nil, removes) one of a station's licences.
    case licence(station: String, kind: String, Licence?)
    /// Grants or withdraws (false) or removes (nil) one of a station's approvals.
    case approval(station: String, kind: String, Bool?)
    case status(station: String, StationStatus)
    /// Creates or replaces a safety hazard (remedying it is a replacement with `remedied` set).
    case hazard(station: String, SafetyHazard)
    /// Creates or replaces a violation case.
    case violationCase(station: String, ViolationCase)
    /// Sets (or removes) a supplier's wholesale licence.
    case supplierLicence(supplier: String, Licence?)

    /// The audit chain's action name.
    public var action: String {
        switch self {
        case .licence: "registry.licence"
        case .approval: "registry.approval"
        case .status: "registry.status"
        case .hazard: "registry.hazard"
        case .violationCase: "registry.case"
        case .supplierLicence: "registry.supplier_licence"
        }
    }
}

/// What an edit changed, as JSON text (`null` when absent).
public struct RegistryEditResult: Sendable, Hashable {
    public var before: String
    public var after: String
    /// The audit chain position of the entry recording it.
    public var auditSeq: Int64
}

extension RegistryStore {
    /// Applies `edit` and records it in the audit chain in the same transaction.
    public func apply(_ edit: RegistryEdit, actor: String) async throws -> RegistryEditResult {
        let logger = database.logger
        return try await database.transaction("registry edit") { tx in
            let (target, key, before, after) = try await Self.write(edit, on: tx, logger: logger)
            let seq = try await AuditLog.append(
                actor: actor, action: edit.action,
                fields: [("target", .string(target)), ("key", .string(key)), ("before", .string(before)), ("after", .string(after))],
                on: tx, logger: logger)
            return RegistryEditResult(before: before, after: after, auditSeq: seq)
        }
    }

    /// Writes the edit; returns the station or supplier, the field's key and the JSON before and after.
    private static func write(_ edit: RegistryEdit, on tx: PostgresConnection, logger: Logger) async throws -> (String, String, String, String) {
        switch edit {
        case .licence(let station, let kind, let licence):
            var licences = try await documents(station: station, on: tx, logger: logger).licences
            let before = try json(licences[kind])
            licences[kind] = licence
            try await tx.query(
                "UPDATE stations SET licences = \(try json(licences))::jsonb, updated_at = now() WHERE id = \(station)", logger: logger)
            return (station, "licences.\(kind)", before, try json(licence))
        case .approval(let station, let kind, let granted):
            var approvals = try await documents(station: station, on: tx, logger: logger).approvals
            let before = try json(approvals[kind])
            approvals[kind] = granted
            try await tx.query(
                "UPDATE stations SET approvals = \(try json(approvals))::jsonb, updated_at = now() WHERE id = \(station)", logger: logger)
            return (station, "approvals.\(kind)", before, try json(granted))
        case .status(let station, let status):
            guard let row = try await tx.query("SELECT status FROM stations WHERE id = \(station) FOR UPDATE", logger: logger).collect().first else {
                throw StoreError.notFound("station \(station) is not in the registry")
            }
            let before = try row.decode(String.self)
            try await tx.query("UPDATE stations SET status = \(status.rawValue), updated_at = now() WHERE id = \(station)", logger: logger)
            return (station, "status", try json(before), try json(status.rawValue))
        case .hazard(let station, let hazard):
            try await requireStation(station, on: tx, logger: logger)
            let before = try await tx.query("""
                SELECT json_build_object('id', id, 'description', description, 'opened', opened, 'remedied', remedied)::text
                FROM safety_hazards WHERE station = \(station) AND id = \(hazard.id) FOR UPDATE
                """, logger: logger).collect().first?.decode(String.self) ?? "null"
            try await upsert(hazard, station: station, on: tx, logger: logger)
            return (station, "hazards.\(hazard.id)", before, try json(hazard))
        case .violationCase(let station, let c):
            try await requireStation(station, on: tx, logger: logger)
            let before = try await tx.query("""
                SELECT json_build_object('id', id, 'description', description, 'serious', serious, 'opened', opened, 'closed', closed)::text
                FROM violation_cases WHERE station = \(station) AND id = \(c.id) FOR UPDATE
                """, logger: logger).collect().first?.decode(String.self) ?? "null"
            try await upsert(c, station: station, on: tx, logger: logger)
            return (station, "cases.\(c.id)", before, try json(c))
        case .supplierLicence(let supplier, let licence):
            guard let row = try await tx.query("SELECT licence::text FROM suppliers WHERE id = \(supplier) FOR UPDATE", logger: logger)
                .collect().first else { throw StoreError.notFound("supplier \(supplier) is not in the registry") }
            let before = try row.decode(String?.self) ?? "null"
            try await tx.query("UPDATE suppliers SET licence = \(try licence.map { try json($0) })::jsonb WHERE id = \(supplier)", logger: logger)
            return (supplier, "licence", before, try json(licence))
        }
    }

    private static func requireStation(_ station: String, on tx: PostgresConnection, logger: Logger) async throws {
        guard try await tx.query("SELECT 1 FROM stations WHERE id = \(station) FOR UPDATE", logger: logger).collect().first != nil else {
            throw StoreError.notFound("station \(station) is not in the registry")
        }
    }

    private static func documents(
        station: String, on tx: PostgresConnection, logger: Logger
    ) async throws -> (licences: [String: Licence], approvals: [String: Bool]) {
        guard let row = try await tx.query(
            "SELECT licences::text, approvals::text FROM stations WHERE id = \(station) FOR UPDATE", logger: logger
        ).collect().first else { throw StoreError.notFound("station \(station) is not in the registry") }
        let (licences, approvals) = try row.decode((String, String).self)
        let dec = JSONDecoder()
        return (try dec.decode([String: Licence].self, from: Data(licences.utf8)), try dec.decode([String: Bool].self, from: Data(approvals.utf8)))
    }
}
