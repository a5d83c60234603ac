import FuelLab

extension IngestBenchmark {
    /// What `bench ingest --rounds N` found: each round's push rate, raw COPY rate and their ratio.
    package struct Rounds: Sendable {
        package var results: [Result] = []
        package var ratios: [Double] { results.compactMap(\.ratio) }
        package var medianRatio: Double? { ratios.quantile(0.5) }
    }

    /// The push path and the raw COPY of its rows, `rounds` times in one run (each round its own
    /// cluster, the push run first then the COPY, as ``run()``), with the median ratio. This VM's speed
    /// moves 1.3–2× within an hour and the raw COPY alone swung 87k–150k rows/s in one afternoon: a
    /// single 100k-record round's ratio is one draw of that, the median of a few is the figure.
    package func compareWithCopy(rounds: Int) async throws -> Rounds {
        var out = Rounds()
        for round in 0..<rounds {
            var run = self
            run.withCopy = true
            run.printPurePath = round == 0
            if rounds > 1 { print("• round \(round + 1) of \(rounds):") }
            out.results.append(try await run.run())
        }
        if rounds > 1, let median = out.medianRatio {
            let rates = out.results.map { String(format: "%.0f/%.0f", $0.apiRate, $0.copyRate) }.joined(separator: ", ")
            print(String(format: "ratio, median of %d rounds: %.2f (goal ≥ 0.7); rounds %@ (push/COPY per s: %@)", rounds, median,
                         out.ratios.map { String(format: "%.2f", $0) }.joined(separator: ", "), rates))
        }
        return out
    }
}
