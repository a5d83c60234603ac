import Crypto
import FuelLedger
import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import Foundation
import Synchronization
import Testing

/// `fuelwarden archive`: a period written to files with its checkpoint, checked, dropped; the
/// chains go on from it, resends of its records are refused, and the files verify offline.
@Suite struct LedgerArchiveTests {
    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "fuelwarden-archive-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aClosedMonthIsArchivedCheckedAndDroppedAndTheChainsGoOn() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await TestPostgres.withDatabase { db in
            try await TwoStations.importRegistry(db)
            let ledger = LedgerStore(database: db)
            _ = try await ledger.append(station: "S1", records: (1...5).map { TwoStations.reading($0) }, rejected: [])
            _ = try await ledger.append(station: "S2", records: (1...3).map { TwoStations.reading($0) }, rejected: [])
            let closed = try await TestPostgres.closeFirstLedgerPeriod(db)
            _ = try await ledger.append(station: "S1", records: (6...8).map { TwoStations.reading($0) }, rejected: [])
            let archiver = LedgerArchiver(database: db, logger: TestPostgres.logger)
            let farFuture = try #require(LedgerArchiver.monthStart("2099-01"))

            // Without a signed checkpoint covering the month nothing is archived.
            await #expect(throws: LedgerArchiver.Refusal.self) { try await archiver.archive(before: farFuture, to: root) }
            #expect(try await TestPostgres.strings(db, "SELECT count(*)::text FROM ledger") == ["11"])

            let key = Curve25519.Signing.PrivateKey()
            let checkpoint = try #require(try await CheckpointStore(database: db).issue(origin: "fuelwarden.test", key: key))
            #expect(try await archiver.archive(before: farFuture, to: root, dryRun: true).map(\.records) == [8])
            let outcomes = try await archiver.archive(before: farFuture, to: root)
            // Only the closed month: the others have not ended.
            #expect(outcomes.map(\.period) == [closed] && outcomes.first?.records == 8 && outcomes.first?.stations == 2)
            #expect(try await TestPostgres.strings(db, "SELECT coalesce(to_regclass('\(closed)')::text, 'gone')") == ["gone"])
            #expect(try await TestPostgres.strings(db, "SELECT state FROM ledger_periods WHERE name = '\(closed)'") == ["archived"])
            #expect(try await TestPostgres.strings(db, "SELECT count(*)::text FROM ledger") == ["3"])
            #expect(try await archiver.archive(before: farFuture, to: root).isEmpty, "archived once")

            // The chains go on from the archived ends, and the checkpoint still matches the database.
            let audit = ChainAudit(database: db)
            let report = try await audit.verify()
            #expect(report.isIntact && report.recordsChecked == 3 && report.stationsChecked == 2)
            let anchors = try await audit.anchors()
            #expect(anchors["S1"]?.seq == 5 && anchors["S2"]?.seq == 3)
            #expect(try await audit.verify(against: checkpoint.heads).isEmpty)

            // A resend of an archived record is refused (it may be in the archive); a live one is a duplicate.
            let resent = try await ledger.append(station: "S1", records: [2, 7].map { TwoStations.reading($0) } + [TwoStations.reading(9)], rejected: [])
            #expect(resent.accepted == 1 && resent.duplicates == 1 && resent.headSeq == 9)
            #expect(resent.rejected.map(\.seq) == [2] && resent.rejected.first?.reason.contains("archived") == true)
            #expect(try await audit.verify().isIntact)

            // An export of the station begins after its archived months and checks from where they end.
            let history = HistoryStore(database: db)
            let through = try #require(try await history.archivedThrough(station: "S1"))
            let none = try await history.archivedThrough(station: "S3")
            #expect(through.seq == 5 && none == nil)
            let exported = Mutex<[UInt8]>([])
            let n = try await history.stream(station: "S1", after: through.seq, from: nil, to: nil, through: 9, layout: .ndjson) { chunk in
                exported.withLock { $0 += Array(chunk.readableBytesView) }
            }
            #expect(n == 4)
            var exportVerifier = ChainVerifier(after: through.seq, hash: through.hash)
            for line in exported.withLock({ $0 }).split(separator: UInt8(ascii: "\n")) {
                try exportVerifier.check(try HistoryLine(line).link(previous: exportVerifier.hash))
            }
            #expect(exportVerifier.position == 9)
            #expect(HistoryFormat.ndjson.trailer(headSeq: 9, headHash: exportVerifier.hash, records: n, archivedThrough: through)
                .contains("\"archived_through\":{\"seq\":5,\"hash\":\"\(through.hash.hexString)\"}"))

            // The files check offline with the regulator's key, and join the database's anchors.
            let offline = ArchiveVerifier(root: root, trustedKey: Data(key.publicKey.rawRepresentation).base64EncodedString()).verify()
            #expect(offline.problems.isEmpty, "\(offline.problems)")
            #expect(offline.records == 8 && offline.periods == [closed])
            #expect(offline.lastArchived["S1"]?.seq == 5 && offline.lastArchived["S1"]?.hash == anchors["S1"]?.hash.hexString)
            let wrongKey = ArchiveVerifier(root: root, trustedKey: Data(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation).base64EncodedString()).verify()
            #expect(wrongKey.problems.contains { $0.contains("not signed by the trusted key") })

            // Inclusion proofs still lead to the signed checkpoint: an archived record's from the files,
            // a live one's through the archived part of the records tree.
            let store = CheckpointStore(database: db)
            let archive = ArchiveDirectory(root: root)
            let file0 = CheckpointFile(checkpoint)
            for (station, seq) in [("S1", Int64(3)), ("S1", 7), ("S2", 1)] {
                let p = try #require(try await store.proof(station: station, seq: seq, in: checkpoint, archive: archive))
                let problems = RecordProofFile(p, checkpointID: checkpoint.id, checkpointRoot: checkpoint.checkpoint.root).problems(in: file0)
                #expect(problems.isEmpty, "proof of \(station)/\(seq): \(problems)")
            }
            await #expect(throws: StoreError.self) { try await store.proof(station: "S1", seq: 7, in: checkpoint) }

            // A records tree lost after its first months were archived is not rebuilt wrong from what is left.
            try await TestPostgres.superuser(db, "UPDATE chain_heads SET records_frontier = NULL WHERE station = 'S2'")
            await #expect(throws: StoreError.self) { try await store.heads() }

            // A changed byte in a station file is found, named by file.
            let file = "\(root)/\(closed)/records/S1.ndjson"
            var text = try String(contentsOfFile: file, encoding: .utf8)
            text = text.replacingOccurrences(of: "18000", with: "18001")
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let tampered = ArchiveVerifier(root: root).verify()
            #expect(tampered.problems.contains { $0.contains("records/S1.ndjson") && $0.contains("SHA-256") })
            #expect(tampered.problems.contains { $0.contains("records/S1.ndjson") && $0.contains("chain broken") })
        }
    }

    @Test func historyLinesReadBackAsTheStoreWritesThem() throws {
        let body = #"{"kind":"tank_reading","tank":"T1","volume_l":18000}"#
        let line = #"{"chain_seq":7,"source":"push","source_seq":12,"kind":"tank_reading","at":"2026-11-01T08:00:00Z","hash":""# + String(repeating: "ab", count: 32) + #"","record":"# + body + "}"
        let parsed = try HistoryLine(Array(line.utf8))
        #expect(parsed.chainSeq == 7 && parsed.source == "push" && parsed.sourceSeq == 12 && parsed.body == Array(body.utf8))
        #expect(throws: HistoryLine.Malformed.self) { try HistoryLine(Array(line.replacingOccurrences(of: "\"hash\":\"ab", with: "\"hash\":\"zz").utf8)) }
        #expect(throws: HistoryLine.Malformed.self) { try HistoryLine(Array("{\"chain_seq\":1}".utf8)) }
        #expect(ArchiveManifest.fileName(station: "LN-SY-0001") == "records/LN-SY-0001.ndjson")
        #expect(ArchiveManifest.fileName(station: "../x/沈") == "records/%2E%2E%2Fx%2F%E6%B2%88.ndjson")
    }
}
