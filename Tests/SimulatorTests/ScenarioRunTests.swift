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

    @Test func everyShippedScenarioParses() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.simulations).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(files.contains("million.toml") && files.contains("small.toml"))
        for file in files {
            let scenario = try Scenario(contentsOf: Self.simulations + "/" + file)
            #expect(scenario.platform.nodes > 0, "\(file)")
        }
    }
}
