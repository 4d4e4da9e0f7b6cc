import Kademlia
import Simulator
import Testing

/// One seed, one run: the same seed gives the same trace hash; another seed another hash.
@Suite struct DeterminismTests {
    static func tiny(seed: UInt64, churn: Bool = true) -> Scenario {
        var platform = Scenario.Platform(nodes: 60, latency: .geometric(baseMilliseconds: 5, scaleMilliseconds: 80),
                                         jitterMilliseconds: 3, loss: 0.02)
        if churn {
            platform.churn = .init(session: .weibull(shape: 0.5, scale: 60), downtime: .exponential(mean: 30))
        }
        platform.nat = .init(fraction: 0.1, readOnly: true)
        let deployment = Scenario.Deployment(joinOver: 5, warmup: 10, duration: 60, drain: 10, lookupsPerSecond: 2,
                                             putsPerSecond: 0.5, getsPerSecond: 0.5, sampleInterval: 10)
        return Scenario(name: "tiny", seed: seed, platform: platform, deployment: deployment)
    }

    @Test func sameSeedSameTrace() {
        let first = Simulation(scenario: Self.tiny(seed: 5)).run()
        let second = Simulation(scenario: Self.tiny(seed: 5)).run()
        #expect(first.traceHash == second.traceHash)
        #expect(first.datagramsDelivered == second.datagramsDelivered)
        #expect(first.lookupsCompleted == second.lookupsCompleted)
        #expect(first.datagramsDelivered > 1000)
        #expect(first.leaves > 0, "the tiny scenario churns")
    }

    @Test func differentSeedsDiffer() {
        let first = Simulation(scenario: Self.tiny(seed: 5)).run()
        let second = Simulation(scenario: Self.tiny(seed: 6)).run()
        #expect(first.traceHash != second.traceHash)
    }

    @Test func hooksDoNotChangeTheRun() {
        let plain = Simulation(scenario: Self.tiny(seed: 9)).run()
        let watched = Simulation(scenario: Self.tiny(seed: 9))
        var delivered = 0
        var lookups = 0
        watched.hooks.delivered = { _, _, _, _ in delivered += 1 }
        watched.hooks.lookupCompleted = { _ in lookups += 1 }
        let report = watched.run()
        #expect(report.traceHash == plain.traceHash)
        #expect(delivered == report.datagramsDelivered)
        #expect(lookups == report.lookupsCompleted)
    }

    @Test func readOnlyNATedHostsAreNeverQueried() {
        let report = Simulation(scenario: Self.tiny(seed: 11, churn: false)).run()
        // BEP 43: read-only hosts say `ro=1`, so nobody puts them in a table, so nobody queries them.
        #expect(report.datagramsBlockedByNat == 0)
        #expect(report.lookupRecall > 0.7, "recall \(report.lookupRecall)")
    }
}
