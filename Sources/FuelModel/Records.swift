/// What kind of record a station (or a feed) sends.
public enum RecordKind: String, Codable, Sendable, CaseIterable {
    case sale
    case delivery
    case tankReading = "tank_reading"
    case totalizerReading = "totalizer_reading"
    case vapourReading = "vapour_reading"
    case deviceStatus = "device_status"
    case priceChange = "price_change"
}

/// Where a record entered the ledger; idempotency is on (station, source, source sequence).
public enum RecordSource: String, Codable, Sendable, CaseIterable {
    /// The push API; the source sequence is the station's own `seq`.
    case push
    /// The Veeder-Root TLS poller; numbered by the daemon as it collects.
    case atg
    /// The HJ 212 listener; numbered by the daemon as it collects.
    case hj212
}

/// A fuel sale at one nozzle. `volumeL` is the metered gross volume at fuel temperature.
public struct Sale: Hashable, Codable, Sendable {
    public var nozzle: String
    public var grade: String
    public var volumeL: Double
    public var unitPrice: Double
    public var amount: Double
    public var startedAt: Timestamp
    public var endedAt: Timestamp
    public var totalizerStartL: Double?
    public var totalizerEndL: Double?
    public var receiptNo: String?

    public init(
        nozzle: String, grade: String, volumeL: Double, unitPrice: Double, amount: Double,
        startedAt: Timestamp, endedAt: Timestamp, totalizerStartL: Double? = nil, totalizerEndL: Double? = nil,
        receiptNo: String? = nil
    ) {
        self.nozzle = nozzle
        self.grade = grade
        self.volumeL = volumeL
        self.unitPrice = unitPrice
        self.amount = amount
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.totalizerStartL = totalizerStartL
        self.totalizerEndL = totalizerEndL
        self.receiptNo = receiptNo
    }
}

/// A delivery into one tank; `declaredVolumeL` is at 20 °C.
public struct Delivery: Hashable, Codable, Sendable {
    public var tank: String
    public var supplier: String
    public var batch: String?
    public var billNo: String
    public var grade: String
    public var declaredVolumeL: Double
    public var densityKgM3: Double?
    public var vehicle: String?
    public var startedAt: Timestamp
    public var endedAt: Timestamp

    public init(
        tank: String, supplier: String, batch: String?, billNo: String, grade: String, declaredVolumeL: Double,
        densityKgM3: Double? = nil, vehicle: String? = nil, startedAt: Timestamp, endedAt: Timestamp
    ) {
        self.tank = tank
        self.supplier = supplier
        self.batch = batch
        self.billNo = billNo
        self.grade = grade
        self.declaredVolumeL = declaredVolumeL
        self.densityKgM3 = densityKgM3
        self.vehicle = vehicle
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

/// One tank-gauge reading. `tcVolumeL` is the gauge's volume at 20 °C when it reports one.
public struct TankReading: Hashable, Codable, Sendable {
    public var tank: String
    public var at: Timestamp
    public var volumeL: Double
    public var tcVolumeL: Double?
    public var heightMM: Double?
    public var ullageL: Double?
    public var waterMM: Double?
    public var temperatureC: Double?
    public var status: Int?

    public init(
        tank: String, at: Timestamp, volumeL: Double, tcVolumeL: Double? = nil, heightMM: Double? = nil,
        ullageL: Double? = nil, waterMM: Double? = nil, temperatureC: Double? = nil, status: Int? = nil
    ) {
        self.tank = tank
        self.at = at
        self.volumeL = volumeL
        self.tcVolumeL = tcVolumeL
        self.heightMM = heightMM
        self.ullageL = ullageL
        self.waterMM = waterMM
        self.temperatureC = temperatureC
        self.status = status
    }
}

/// A dispenser's electronic totalizer for one nozzle.
public struct TotalizerReading: Hashable, Codable, Sendable {
    public var nozzle: String
    public var at: Timestamp
    public var volumeTotalL: Double
    public var amountTotal: Double?

    public init(nozzle: String, at: Timestamp, volumeTotalL: Double, amountTotal: Double? = nil) {
        self.nozzle = nozzle
        self.at = at
        self.volumeTotalL = volumeTotalL
        self.amountTotal = amountTotal
    }
}

/// Vapour-recovery monitoring: A/L ratio per fill, or tank pressure / processing-device concentration.
/// Readings from an HJ 212 device name it (`device`, its MN) and keep factor codes that map to none
/// of the fields as `code-Suffix=value` text in `factors`.
public struct VapourReading: Hashable, Codable, Sendable {
    public var nozzle: String?
    public var tank: String?
    public var device: String?
    public var at: Timestamp
    public var alRatio: Double?
    public var pressurePa: Double?
    public var concentrationGM3: Double?
    public var factors: [String]

    public init(
        nozzle: String? = nil, tank: String? = nil, device: String? = nil, at: Timestamp, alRatio: Double? = nil,
        pressurePa: Double? = nil, concentrationGM3: Double? = nil, factors: [String] = []
    ) {
        self.nozzle = nozzle
        self.tank = tank
        self.device = device
        self.at = at
        self.alRatio = alRatio
        self.pressurePa = pressurePa
        self.concentrationGM3 = concentrationGM3
        self.factors = factors
    }
}

/// A device's state (online / offline / alarm) with its alarm codes.
public struct DeviceStatus: Hashable, Codable, Sendable {
    /// What the device reports.
    public enum State: String, Codable, Sendable, CaseIterable {
        case online, offline, alarm
    }
    public var device: String
    public var at: Timestamp
    public var state: State
    public var codes: [String]

    public init(device: String, at: Timestamp, state: State, codes: [String] = []) {
        self.device = device
        self.at = at
        self.state = state
        self.codes = codes
    }
}

/// The station's posted price for a grade from `effectiveAt`.
public struct PriceChange: Hashable, Codable, Sendable {
    public var grade: String
    public var unitPrice: Double
    public var effectiveAt: Timestamp

    public init(grade: String, unitPrice: Double, effectiveAt: Timestamp) {
        self.grade = grade
        self.unitPrice = unitPrice
        self.effectiveAt = effectiveAt
    }
}

/// One record as a station or feed reports it.
public enum Record: Hashable, Sendable {
    case sale(Sale)
    case delivery(Delivery)
    case tankReading(TankReading)
    case totalizerReading(TotalizerReading)
    case vapourReading(VapourReading)
    case deviceStatus(DeviceStatus)
    case priceChange(PriceChange)

    public var kind: RecordKind {
        switch self {
        case .sale: .sale
        case .delivery: .delivery
        case .tankReading: .tankReading
        case .totalizerReading: .totalizerReading
        case .vapourReading: .vapourReading
        case .deviceStatus: .deviceStatus
        case .priceChange: .priceChange
        }
    }

    /// The data time of the record: when the thing it reports happened (end of a sale or delivery).
    public var at: Timestamp {
        switch self {
        case .sale(let s): s.endedAt
        case .delivery(let d): d.endedAt
        case .tankReading(let r): r.at
        case .totalizerReading(let r): r.at
        case .vapourReading(let r): r.at
        case .deviceStatus(let r): r.at
        case .priceChange(let r): r.effectiveAt
        }
    }
}

/// A record as the ledger committed it: its place in the station's chain and its origin.
public struct LedgerEntry: Hashable, Sendable {
    public var station: String
    public var chainSeq: Int64
    public var source: RecordSource
    public var sourceSeq: Int64
    public var record: Record
    /// When the daemon received it (wall clock), if known.
    public var receivedAt: Timestamp?

    public init(station: String, chainSeq: Int64, source: RecordSource, sourceSeq: Int64, record: Record, receivedAt: Timestamp? = nil) {
        self.station = station
        self.chainSeq = chainSeq
        self.source = source
        self.sourceSeq = sourceSeq
        self.record = record
        self.receivedAt = receivedAt
    }
}
