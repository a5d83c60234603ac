import FuelLab
import FuelLedger

extension IngestBenchmark {
    /// What `bench ingest --suite both` found: each run's push rate and guomi's share of the
    /// international rate pair by pair.
    package struct SuiteComparison: Sendable {
        package var international: [Double] = []
        package var guomi: [Double] = []
        /// guomi ÷ international, pair by pair.
        package var shares: [Double] { zip(guomi, international).map { $0 / $1 } }
        package var medianShare: Double? { shares.quantile(0.5) }
    }

    /// The push path into an international and a guomi ledger, alternated `pairs` times in one run
    /// (each pair in the other order than the one before, so the machine's drift between runs — this
    /// VM's speed moves 1.3–2× within an hour — falls on both suites alike); no COPY, the suites are
    /// compared with each other. Issue 15's goal: guomi within 15 % of international.
    package func compareSuites(pairs: Int) async throws -> SuiteComparison {
        var comparison = SuiteComparison()
        for pair in 0..<pairs {
            let order: [LedgerSuite] = pair % 2 == 0 ? [.international, .guomi] : [.guomi, .international]
            var rates: [LedgerSuite: Double] = [:]
            for suite in order {
                var run = self
                run.suite = suite
                run.withCopy = false
                print("• pair \(pair + 1) of \(pairs), \(suite.rawValue):")
                rates[suite] = try await run.run().apiRate
            }
            comparison.international.append(rates[.international]!)
            comparison.guomi.append(rates[.guomi]!)
        }
        for (i, (g, n)) in zip(comparison.guomi, comparison.international).enumerated() {
            print(String(format: "pair %d: international %.0f, guomi %.0f records/s → guomi at %.0f %%", i + 1, n, g, 100 * g / n))
        }
        if let median = comparison.medianShare {
            print(String(format: "guomi's rate, median of %d pairs: %.0f %% of international (goal: within 15 %%, ≥ 85 %%)", pairs, 100 * median))
        }
        return comparison
    }
}
