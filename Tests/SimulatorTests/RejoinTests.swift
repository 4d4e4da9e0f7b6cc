// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Simulator
import Testing

/// A host back from downtime bootstraps through the members its table held when it left, as a
/// restarted node does from the contacts it saved (`spec/0010-simulator.md` §4.4).
@Suite struct RejoinTests {
    static let toml = """
        name = "rejoin"
        seed = 3
        [platform]
        nodes = 120
        [platform.churn]
        session = { distribution = "exponential", mean_s = 60 }
        downtime = { distribution = "exponential", mean_s = 20 }
        [deployment]
        join_over_s = 10
        warmup_s = 20
        duration_s = 120
        lookups_per_second = 2
        [deployment.dht]

        """

    @Test func aHostBackFromDowntimeAsksItsSavedTable() throws {
        let saved = Simulation(scenario: try Scenario(toml: Self.toml)).run()
        let afresh = Simulation(scenario: try Scenario(toml: Self.toml + "rejoin_from_saved_table = false\n")).run()
        #expect(saved.dhtSettings.hasSuffix("rejoin from the saved table on"))
        #expect(afresh.dhtSettings.hasSuffix("rejoin from the saved table off"))
        #expect(saved.joins > 2 * 120 && afresh.joins > 2 * 120, "hosts came back: \(saved.joins), \(afresh.joins)")
        // Afresh, a join asks host 0, then looks up its own id; back from downtime, it asks every
        // member it saved first.
        let perJoin = { (report: SimulationReport) in Double(report.queriesSentByCause["bootstrap", default: 0]) / Double(report.joins) }
        #expect(perJoin(saved) > perJoin(afresh) + 10, "bootstrap queries per join: \(perJoin(saved)) against \(perJoin(afresh))")
        #expect(saved.lookupRecall > 0.8 && afresh.lookupRecall > 0.8, "\(saved.lookupRecall), \(afresh.lookupRecall)")
    }
}
