#if Lab
import ArgumentParser
import FuelFuzz
import Foundation

/// `fuelwarden fuzz`: mutation fuzzing of the wire decoders (HJ 212, Veeder-Root TLS, push NDJSON).
struct FuzzCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Feed the wire decoders mutated inputs; exit non-zero when an invariant breaks (a crash kills the process).",
        discussion: """
            Each input is derived from (seed, iteration), so `--seed S --start I --iterations 1 --dump` replays one.
            Build in release for speed: swift run -c release fuelwarden fuzz --iterations 2000000
            """)
    @Option(help: "Decoders to fuzz: hj212, tls, push or all.") var target = "all"
    @Option(help: "Inputs per target.") var iterations = 1_000_000
    @Option(help: "Seed of the input sequence.") var seed: UInt64 = 1
    @Option(help: "First iteration (to replay a reported one).") var start = 0
    @Flag(help: "Print each input as hex (with --iterations 1 to replay).") var dump = false

    func run() async throws {
        let targets: [WireFuzzer.Target]
        if target == "all" {
            targets = WireFuzzer.Target.allCases
        } else if let t = WireFuzzer.Target(rawValue: target) {
            targets = [t]
        } else {
            fail("--target must be hj212, tls, push or all, got \(target)")
        }
        var broken = 0
        for t in targets {
            let fuzzer = WireFuzzer(target: t, seed: seed)
            if dump {
                for i in start..<(start + iterations) { say("\(t.rawValue) #\(i): \(fuzzer.input(i).map { String(format: "%02X", $0) }.joined())") }
            }
            let began = ContinuousClock.now
            say("\(t.rawValue): \(iterations) inputs from seed \(seed), iteration \(start)…")
            let report = fuzzer.run(start: start, count: iterations) { r in
                say("  \(t.rawValue): \(r.iterations) inputs, \(r.accepted) accepted, \(r.violations.count) violations")
            }
            let seconds = (ContinuousClock.now - began) / .seconds(1)
            say(String(format: "%@: %d inputs in %.1f s (%.0f/s), %d accepted, %d rejected with an error, %d violations",
                       t.rawValue, report.iterations, seconds, Double(report.iterations) / max(seconds, 1e-9), report.accepted,
                       report.iterations - report.accepted, report.violations.count))
            for v in report.violations.prefix(10) { say("  violation at iteration \(v.iteration): \(v.message)") }
            broken += report.violations.count
        }
        if broken > 0 { throw ExitCode(1) }
    }
}
#endif
