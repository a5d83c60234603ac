import FuelLedger
import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// Fuel traceability (Liaoning item 10): supplier → batch → delivery → tank → sale.
/// - `GET /v1/stations/{id}/records/{seq}/provenance`: the batches (suppliers, fractions, litres)
///   in a sale, or the tank's mix a delivery made;
/// - `GET /v1/batches/{id}/trace`: for a recall, every station, tank and period that held the batch,
///   with the litres sold from it.
public struct ProvenanceController: Sendable {
    let store: ProvenanceStore
    let registry: RegistryCache

    public init(store: ProvenanceStore, registry: RegistryCache) {
        self.store = store
        self.registry = registry
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("stations/{station}/records/{seq}/provenance", use: provenance)
        group.get("batches/{batch}/trace", use: trace)
    }

    struct ShareDTO: Encodable {
        var batch: String
        var supplier: String?
        var supplierName: String?
        var fraction: Double
        var litres: Double?
        enum CodingKeys: String, CodingKey { case batch, supplier, supplierName = "supplier_name", fraction, litres }
    }

    struct PeriodDTO: Encodable {
        var since: Date
        var until: Date?
        var deliverySeq: Int64
        var deliveredBatch: String
        var deliveredL: Double
        var volumeBeforeL: Double?
        var gaugeReadingAt: Date?
        enum CodingKeys: String, CodingKey {
            case since, until, deliverySeq = "delivery_seq", deliveredBatch = "delivered_batch", deliveredL = "delivered_l"
            case volumeBeforeL = "volume_before_l", gaugeReadingAt = "gauge_reading_at"
        }
        init(_ p: CompositionPeriod) {
            since = p.validFrom; until = p.validTo; deliverySeq = p.deliverySeq; deliveredBatch = p.batch; deliveredL = p.deliveredL
            volumeBeforeL = p.volumeBeforeL; gaugeReadingAt = p.readingAt
        }
    }

    struct ProvenanceDTO: Encodable {
        var station: String
        var seq: Int64
        var kind: String
        var at: Date
        var nozzle: String?
        var tank: String
        var volumeL: Double?
        var composition: PeriodDTO?
        var batches: [ShareDTO]
        enum CodingKeys: String, CodingKey { case station, seq, kind, at, nozzle, tank, volumeL = "volume_l", composition, batches }
    }

    @Sendable func provenance(_ request: Request, context: FuelRequestContext) async throws -> Response {
        let id = try context.parameters.require("station")
        let p = try context.requirePrincipal()
        guard p.canAct(as: .viewer) || p.station == id else { throw APIError(.forbidden, "a station key may only read its own station") }
        let seqText = try context.parameters.require("seq")
        guard let seq = Int64(seqText), seq > 0 else { throw APIError(.badRequest, "seq: expected a positive chain position, got \"\(seqText)\"") }
        guard let station = try await registry.profileReloadingIfUnknown(id)?.station else { throw APIError(.notFound, "station \(id) is not in the registry") }
        guard let r = try await store.record(station: id, seq: seq) else { throw APIError(.notFound, "\(id) has no record \(seq)") }
        let tank: String
        switch r.kind {
        case "sale":
            guard let nozzle = r.nozzle, let t = station.nozzle(nozzle)?.tank else {
                throw APIError(.conflict, "sale \(seq) is on nozzle \(r.nozzle ?? "?"), which the registry does not connect to a tank")
            }
            tank = t
        case "delivery":
            tank = r.tank ?? ""
        default:
            throw APIError(.notFound, "record \(seq) is a \(r.kind): provenance exists for sales and deliveries only")
        }
        let period = try await store.period(station: id, tank: tank, at: r.at)
        let mix = period?.composition ?? .unknown
        let suppliers = Dictionary(uniqueKeysWithValues: registry.snapshot.registry.suppliers.map { ($0.id, $0.name) })
        let litres = r.kind == "sale" ? r.volumeL : nil
        return try JSONResponse.make(ProvenanceDTO(
            station: id, seq: seq, kind: r.kind, at: r.at, nozzle: r.nozzle, tank: tank, volumeL: r.volumeL,
            composition: period.map(PeriodDTO.init),
            batches: mix.shares.map { share in
                ShareDTO(batch: share.batch, supplier: share.supplier, supplierName: share.supplier.flatMap { suppliers[$0] },
                         fraction: share.fraction, litres: litres.map { $0 * share.fraction })
            }))
    }

    struct TracePeriodDTO: Encodable {
        var station: String
        var city: String?
        var tank: String
        var from: Date
        var to: Date?
        var fraction: Double
        var sales: Int
        var soldL: Double
        var batchL: Double
        var delivery: Bool
        enum CodingKeys: String, CodingKey {
            case station, city, tank, from, to, fraction, sales, soldL = "sold_l", batchL = "batch_l", delivery = "batch_delivered_here"
        }
    }

    struct TraceDTO: Encodable {
        var batch: String
        var stations: [String]
        var tanks: Int
        var deliveredL: Double
        var batchLSold: Double
        var periods: [TracePeriodDTO]
        enum CodingKeys: String, CodingKey {
            case batch, stations, tanks, deliveredL = "delivered_l", batchLSold = "batch_l_sold", periods
        }
    }

    @Sendable func trace(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let batch = try context.parameters.require("batch")
        guard !batch.isEmpty, batch.utf8.count <= 200 else { throw APIError(.badRequest, "batch: 1…200 bytes") }
        let snapshot = registry.snapshot.registry
        var nozzles: [String: [String: [String]]] = [:]
        for s in snapshot.stations {
            for n in s.nozzles { nozzles[s.id, default: [:]][n.tank, default: []].append(n.id) }
        }
        let rows = try await store.trace(batch: batch, nozzles: nozzles)
        guard !rows.isEmpty else { throw APIError(.notFound, "batch \(batch) was never delivered to a tank on record") }
        let cities = Dictionary(uniqueKeysWithValues: snapshot.stations.map { ($0.id, $0.city) })
        let periods = rows.map {
            TracePeriodDTO(station: $0.period.station, city: cities[$0.period.station], tank: $0.period.tank, from: $0.period.validFrom,
                           to: $0.period.validTo, fraction: $0.fraction, sales: $0.sales, soldL: $0.soldL, batchL: $0.soldL * $0.fraction,
                           delivery: $0.period.batch == batch)
        }
        return try JSONResponse.make(TraceDTO(
            batch: batch, stations: Array(Set(periods.map(\.station))).sorted(),
            tanks: Set(periods.map { "\($0.station)/\($0.tank)" }).count,
            deliveredL: rows.filter { $0.period.batch == batch }.reduce(0) { $0 + $1.period.deliveredL },
            batchLSold: periods.reduce(0) { $0 + $1.batchL }, periods: periods))
    }
}
