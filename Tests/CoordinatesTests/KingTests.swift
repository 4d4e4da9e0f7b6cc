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
        #expect(e.truth < 0.15)
        #expect(e.network < 0.15)
    }

    static let rounds = 400
}
