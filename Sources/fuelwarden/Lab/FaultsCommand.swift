#if Lab
import ArgumentParser
import FuelService
import FuelLab
import FuelFaults
import Foundation

/// `fuelwarden faults`: kill, outage, replica and detector-restart scenarios against real daemons.
struct FaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Fault tests: kill -9, PostgreSQL outage, three replicas, detector state across a restart, bad input at volume, a rolling upgrade, the station agent, a failover to a standby, a month archived under load. Prints acknowledged / found / lost / duplicated per scenario; exits 1 unless every scenario passes.",
        discussion: """
            Each scenario starts its own durable throwaway PostgreSQL and real `fuelwarden serve` child processes (this binary), \
            pushes with collectors that record exactly which records got a 200, then counts the ledger and runs `fuelwarden verify`. \
            --short is the CI version (about ten minutes in a debug build on two cores). Build in release for the full run: \
            swift run -c release fuelwarden faults
            """)
    @Option(help: "Scenarios, comma-separated: kill, outage, replicas, detector, badinput, upgrade, agent, failover, failover-async, archive.")
    var scenarios = "kill,outage,replicas,detector,badinput,upgrade,agent,failover,failover-async,archive"
    @Option(help: "Stations pushing at once.") var stations = 40
    @Option(help: "Records per second over all stations.") var rate = 400.0
    @Option(help: "Seconds of pushing per scenario (around the fault).") var seconds = 30.0
    @Option(help: "Seconds PostgreSQL stays down in the outage scenario.") var outageSeconds = 30.0
    @Option(help: "Simulated days per station in the detector scenario.") var detectorDays = 3.0
    @Option(help: "Ledger rows preloaded for the upgrade scenario's backfill.") var upgradeRows = 1_000_000
    @Flag(help: "The short version for CI: 20 stations, 10 s around each fault, a 10 s outage, 2 simulated days, 100 slow connections, 60,000 rows to backfill.") var short = false

    func run() async throws {
        var test = FaultTest(executable: DaemonProcess.currentExecutable, logger: makeLogger(.warning), print: say)
        var chosen: [FaultTest.Scenario] = []
        for name in scenarios.split(separator: ",") {
            guard let s = FaultTest.Scenario(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                fail("unknown scenario \(name); choose from \(FaultTest.Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            chosen.append(s)
        }
        guard stations > 0, rate > 0, seconds >= 2, outageSeconds > 0, detectorDays >= 1 else {
            fail("--stations and --rate must be positive, --seconds at least 2, --detector-days at least 1")
        }
        test.scenarios = chosen
        test.stations = stations
        test.recordsPerSecond = rate
        test.seconds = seconds
        test.outageSeconds = outageSeconds
        test.detectorDays = detectorDays
        test.upgradeRows = upgradeRows
        if short {
            test.stations = 20
            test.recordsPerSecond = 200
            test.seconds = 10
            test.outageSeconds = 10
            test.detectorDays = 2
            test.detectorStations = 6
            test.slowConnections = 100
            // Three of the backfill's 20,000-row batches: enough to migrate under load, and the scenario
            // took 291 s of CI's 737 s of faults with 200,000 (2026-12-05).
            test.upgradeRows = 60_000
            test.agentPhaseSeconds = 4
            test.agentOutageSeconds = 14
        }
        let results = try await test.run()
        if results.allSatisfy(\.passed) {
            say("every scenario passed: nothing acknowledged lost, nothing duplicated")
        } else {
            say("FAILED: \(results.filter { !$0.passed }.map(\.scenario.rawValue).joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}
#endif
