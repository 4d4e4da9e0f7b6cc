import Node
import Simulator

/// `potluck-bench sim-vs-loopback`: the simulator's truthfulness. The same network — 500 nodes,
/// joining through node 0 and one other, the node's lookup defaults (alpha 4), k 8, no loss,
/// no churn, 200 lookups for random targets — runs on real loopback sockets (``LoopbackSwarm``) and in the simulator (the
/// same `DHTNode` on a virtual clock, constant 0.05 ms latency). Lookup success and the hop
/// distribution should agree within 10%.
///
/// Here `potluck` is the simulator's figure and `reference` the real network's; `ratio` is their
/// quotient (a fidelity, not a speed: 1 is perfect agreement).
func simVsLoopbackBench() async throws -> [BenchResult] {
    var results: [BenchResult] = []
    for seed: UInt64 in [3, 7, 11] { results += try await compareOnce(seed: seed) }
    return results
}

private func compareOnce(seed: UInt64) async throws -> [BenchResult] {
    let real = try await LoopbackSwarm(nodes: 500, lookups: 200, items: 0, seed: seed).run()
    let scenario = Scenario(
        name: "loopback-500", seed: seed,
        platform: Scenario.Platform(nodes: 500, latency: .constant(milliseconds: 0.05)),
        deployment: Scenario.Deployment(joinOver: 2, warmup: 10, duration: 100, drain: 10, lookupsPerSecond: 2,
                                        bootstrapContacts: 2))
    let simulated = Simulation(scenario: scenario).run()

    let realHops = real.hops.map(Double.init)
    let realSuccess = Double(real.exactLookups) / Double(max(1, real.lookups))
    let simulatedHopsMean = mean(histogram: simulated.hopsHistogram)
    func row(_ name: String, _ sim: Double, _ loopback: Double) -> BenchResult {
        var result = BenchResult(bench: "sim-vs-loopback", caseName: "seed \(seed): \(name)", unit: name.hasPrefix("hops") ? "hops" : "rate",
                                 potluck: sim, reference: loopback)
        result.extra = [("within_10_percent", abs(sim - loopback) <= 0.1 * max(abs(loopback), 1e-9) ? 1 : 0)]
        return result
    }
    return [
        row("lookup success (exact k closest)", simulated.lookupSuccessRate, realSuccess),
        row("hops mean", simulatedHopsMean, realHops.reduce(0, +) / Double(max(1, realHops.count))),
        row("hops p50", simulated.hopsP50, percentile(realHops, 0.5)),
        row("hops p90", simulated.hopsP90, percentile(realHops, 0.9)),
    ]
}

private func mean(histogram: [Int]) -> Double {
    let total = histogram.reduce(0, +)
    guard total > 0 else { return .nan }
    return Double(histogram.enumerated().map { $0.offset * $0.element }.reduce(0, +)) / Double(total)
}
