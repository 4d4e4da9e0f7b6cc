// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import Testing

/// Vivaldi on the King data set (issue 7): 1740 Internet hosts whose true RTTs are given by
/// SimGrid's 2-D + height coordinates, so the matrix is exactly embeddable.
@Suite("Vivaldi on King")
struct KingTests {
    @Test("the data set has 1740 hosts with non-negative heights")
    func dataSet() throws {
        let hosts = try King.load()
        #expect(hosts.count == 1740)
        #expect(hosts.allSatisfy { $0.height >= 0 && $0.dimensions == 2 })
    }

    @Test("exact samples: median relative error under 5%")
    func exact() throws {
        var sim = KingSimulation(truth: try King.load(), neighbours: 32, noise: .exact, seed: 7)
        sim.run(rounds: Self.rounds)
        let e = sim.medianRelativeError(pairs: 20_000, seed: 99)
        print("king exact: nodes 1740, contacts 32, rounds \(Self.rounds): median rel. error \(e.truth)")
        #expect(e.truth < 0.05)
    }

    @Test("±20% jitter and 20% triangle violations: median relative error under 15%")
    func noisy() throws {
        let noise = KingSimulation.Noise(jitter: 0.2, violatingFraction: 0.2)
        var sim = KingSimulation(truth: try King.load(), neighbours: 32, noise: noise, seed: 8)
        sim.run(rounds: Self.rounds)
        let e = sim.medianRelativeError(pairs: 20_000, seed: 99)
        print("king noisy: nodes 1740, contacts 32, rounds \(Self.rounds): median rel. error vs truth \(e.truth), vs network \(e.network)")
        // Measured with the RTT filter and the misfit rule (spec 0013 §3.3, the defaults):
        // 10.9% against the true RTT for seed 8 (per seed 1–4: 11.1/12.5/11.9/12.3%; median
        // 11.9%); without the misfit rule 16.6% (median 18.1%). The violating pairs (2× or 0.5×,
        // the same in every sample) are what the rule damps; jitter alone gives 7.1%.
        #expect(e.truth < 0.15)
        #expect(e.network < 0.18)
    }

    /// 400 rounds: each node applies 400 samples from its 32 contacts (about 12 per contact),
    /// 696,000 updates in all, about 2 s in a debug build. The exact case reaches
    /// 4.1% here (1.5% after 1000 rounds; 4.3% and 2.5% with the paper's update alone).
    static let rounds = 400
}
