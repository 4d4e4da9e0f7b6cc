import Foundation
import Kademlia
import Simulator
import Testing

/// Runs the scenarios shipped in `simulations/` (small ones only: tests stay fast in debug).
@Suite struct ScenarioRunTests {
    static let simulations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("simulations").path

    @Test func smallScenarioFindsTheClosestNodes() throws {
        let scenario = try Scenario(contentsOf: Self.simulations + "/small.toml")
        let simulation = Simulation(scenario: scenario)
        let report = simulation.run()
        print(report.table)
        #expect(report.lookupsCompleted > 500)
        #expect(report.lookupSuccessRate >= 0.95, "replay: potluck simulate simulations/small.toml --seed \(scenario.seed)")
        #expect(report.passed)
    }

    /// Where a lookup's time goes (issue 19): under churn and loss some lookups meet a slow
    /// query and some none, and those that meet one take longer at the median.
    @Test func theReportSplitsLookupsBySlowQueries() throws {
        let report = Simulation(scenario: try GoldenTraceTests.shrunk("churn-10k")).run()
        print(report.table)
        #expect(report.lookupsCompleted > 100)
        #expect(report.lookupsWithoutSlowRate > 0 && report.lookupsWithoutSlowRate < 1, "\(report.lookupsWithoutSlowRate)")
        #expect(report.latencyMsP50WithoutSlow < report.latencyMsP50WithSlow,
                "\(report.latencyMsP50WithoutSlow) ms without, \(report.latencyMsP50WithSlow) ms with")
        #expect(report.latencyMsP50WithoutSlow > 0)
        // Inexact lookups that missed only newcomers: fewer for a shorter age, never more than
        // the inexact ones.
        let newcomers = report.missedOnlyNewcomersRates
        #expect(newcomers.count == 3 && newcomers == newcomers.sorted() && newcomers[2] <= 1 - report.lookupSuccessRate + 1e-9, "\(newcomers)")
        // Every inexact lookup missed a host, asked or not.
        #expect(report.lookupSuccessRate < 1 && report.missedHosts > 0 && (0...1).contains(report.missedAskedShare),
                "\(report.missedHosts) missed, \(report.missedAskedShare) asked")
        // Where the messages go (issue 19's budget): every cause of a churning network's
        // queries is there, and each join refreshes its buckets with room (spec 0004 §5.4).
        for cause in ["lookup", "bootstrap", "refresh", "table-ping", "dial-back"] {
            #expect((report.queriesSentByCause[cause] ?? 0) > 0, "\(cause): \(report.queriesSentByCause)")
        }
        #expect(report.joinRefreshes >= report.joins, "\(report.joinRefreshes) refresh lookups after \(report.joins) joins")
    }

    @Test func everyShippedScenarioParses() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.simulations).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(files.contains("million.toml") && files.contains("small.toml"))
        for file in files {
            let scenario = try Scenario(contentsOf: Self.simulations + "/" + file)
            #expect(scenario.platform.nodes > 0, "\(file)")
        }
    }
}
