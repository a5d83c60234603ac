import ArgumentParser
import FuelDetect
import FuelModel
import FuelService
import FuelStore
import Foundation

/// `fuelwarden inspect STATION --year Y`: the annual-inspection pre-check from the database.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Annual-inspection pre-check of a station: verdict and every rule with its reason and evidence (as GET /v1/stations/{id}/inspection).",
        discussion: "Exit status: 0 pass, 2 needs attention, 3 fail (1 for errors). --record stores the verdict in the audit chain and, for a fail, queues the notifications to the emergency-management and market-supervision departments.")
    @OptionGroup var options: CommonOptions
    @Argument(help: "Station id.") var station: String
    @Option(help: "Inspection year.") var year: Int
    @Option(name: .customLong("as-of"), help: "Judge documents on this day (YYYY-MM-DD, within the year); default: the year's end, or today.")
    var asOf: String?
    @Flag(help: "Record the verdict (audit chain, notifications on fail).") var record = false
    @Option(help: "Who records it, as named in the audit chain.") var inspector = "cli"
    @Flag(help: "Skip recomputing the station's chain.") var noVerifyChain = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        let day = try asOf.map { text -> CivilDate in
            guard let d = CivilDate(iso: text) else { throw ValidationError("--as-of: expected YYYY-MM-DD, got \(text)") }
            return d
        }
        let config = try await options.load()
        let logger = makeLogger(config.logLevel)
        let (id, year, record, actor, verify) = (station, year, record, "inspector:\(inspector)", !noVerifyChain)
        let (report, recorded) = try await withDatabase(config, logger) { db in
            let registry = try await RegistryStore(database: db).load()
            guard let st = registry.stations.first(where: { $0.id == id }) else { fail("station \(id) is not in the registry") }
            let runner = InspectionRunner(store: InspectionStore(database: db), settings: config.inspection)
            do {
                return try await runner.run(station: st, cityName: registry.cities.first { $0.code == st.city }?.name, year: year, asOf: day,
                                            verifyChain: verify, recordAs: record ? actor : nil)
            } catch let e as InspectionRunner.InvalidRequest {
                fail("\(e)")
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            say(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            say("\(report.station) \(report.year) (as of \(report.asOf)): \(report.verdict.rawValue.uppercased())")
            for f in report.findings {
                let mark = switch f.outcome { case .pass: "ok  "; case .needsAttention: "look"; case .fail: "FAIL" }
                say("  \(mark)  \(f.rule.padding(toLength: 28, withPad: " ", startingAt: 0)) \(f.reason)")
            }
        }
        if let r = recorded {
            FileHandle.standardError.write(Data("recorded as inspection \(r.id) (audit entry \(r.auditSeq))\(r.notifications.isEmpty ? "" : ", notifications \(r.notifications.map(String.init).joined(separator: ", ")) queued")\n".utf8))
        }
        switch report.verdict {
        case .pass: return
        case .needsAttention: throw ExitCode(2)
        case .fail: throw ExitCode(3)
        }
    }
}
