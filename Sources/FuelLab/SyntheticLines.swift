import FuelLedger
import FuelModel
import FuelWire

/// Push lines whose content is a function of the station's seq (and a variant): a resend is
/// byte-identical, and a different variant under the same seq is a seq conflict made on purpose.
/// Four gauge readings and a sale per five records, 12 s of data time apart.
package struct SyntheticLines: Sendable {
    package let start: Timestamp

    package init(start: Timestamp) { self.start = start }

    package func record(seq s: Int64, variant: Int = 0) -> Record {
        let at = start.adding(seconds: Double(s) * 12)
        if s % 5 == 0 {
            let litres = 30 + Double(variant)
            return .sale(Sale(nozzle: "N1", grade: "92", volumeL: litres, unitPrice: 7.89, amount: (litres * 789).rounded() / 100,
                              startedAt: at.adding(seconds: -60), endedAt: at))
        }
        // Falls 0.1 L a record and refills every 100,000 records, so any seq gives a valid reading.
        let v = 15_000 - Double(s % 100_000) * 0.1 + Double(variant) * 0.5
        return .tankReading(TankReading(tank: "T\(1 + s % 4)", at: at, volumeL: v, tcVolumeL: v, temperatureC: 15))
    }

    package func line(seq: Int64, variant: Int = 0) -> String {
        PushRecordCodec.encode(PushLine(seq: seq, record: record(seq: seq, variant: variant)))
    }

    /// The content hash the ledger stores for this record.
    package func contentHash(station: String, seq: Int64, variant: Int = 0) -> [UInt8] {
        HashChain.contentHash(CanonicalEncoding.encode(station: station, source: .push, sourceSeq: seq, record: record(seq: seq, variant: variant)))
    }
}
