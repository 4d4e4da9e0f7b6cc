import Foundation
import Kademlia
import Simulator
import Testing

/// Periodic lookups (`deployment.lookup_interval_s`, `spec/0010-simulator.md` §5.2): the
/// workload of SimGrid's Kademlia example, `simulations/simgrid-kademlia.toml`.
@Suite struct PeriodicLookupTests {
    @Test func parsesIntervalAndTarget() throws {
        let scenario = try Scenario(toml: """
            name = "p"
            seed = 1
            [platform]
            nodes = 10
            [deployment]
            duration_s = 100
            lookup_interval_s = 25
            lookup_target = "host-0"
            """)
        #expect(scenario.deployment.lookupInterval == 25)
        #expect(scenario.deployment.lookupTarget == .host0)
        #expect(throws: ScenarioError.self) {
            try Scenario(toml: "name = \"p\"\nseed = 1\n[platform]\nnodes = 10\n[deployment]\nduration_s = 100\nlookup_target = \"host-1\"")
        }
    }

    /// 60 hosts join at 0 and are ready within milliseconds; with a 100 s interval and a 500 s
    /// window each looks up host 0's id at about 100, 200, 300 and 400 s: 4 × 60 = 240 lookups,
    /// all finding the 20 true closest (k = 20 > the 16 contacts merged per reply by default).
    @Test func everyHostLooksUpTheFixedTargetEachInterval() throws {
        let scenario = Scenario(
            name: "periodic", seed: 5,
            platform: Scenario.Platform(nodes: 60, latency: .constant(milliseconds: 0.6)),
            deployment: Scenario.Deployment(joinOver: 0, warmup: 0, duration: 500, drain: 60, lookupsPerSecond: 0,
                                            sampleInterval: 100, k: 20, lookupInterval: 100, lookupTarget: .host0),
            codec: false)
        let report = Simulation(scenario: scenario).run()
        #expect(report.lookupsStarted == 240)
        #expect(report.lookupsCompleted == 240)
        #expect(report.lookupSuccessRate == 1, "replay: seed \(scenario.seed)")
    }
}

/// Expected figures hold for one size (issue 19): at another (`--nodes`) they are shown for
/// comparison and do not fail the run.
@Suite struct ExpectedSizeTests {
    static let toml = """
        name = "sized"
        seed = 3
        [platform]
        nodes = 30
        [platform.latency]
        model = "constant"
        ms = 1
        [deployment]
        duration_s = 60
        lookups_per_second = 1
        [expected]
        lookups_completed = { max = 0 }
        """

    @Test func expectedFiguresAreCheckedOnlyAtTheirSize() throws {
        var scenario = try Scenario(toml: Self.toml)
        #expect(scenario.expectedNodes == 30 && scenario.expectationsApply)
        let atSize = Simulation(scenario: scenario).run()
        #expect(!atSize.passed && atSize.expectations.first?.checked == true, "no lookup may complete, and some did")
        scenario.platform.nodes = 60
        let larger = Simulation(scenario: scenario).run()
        #expect(larger.passed && larger.expectations.first?.checked == false && larger.expectations.first?.ok == false)
        #expect(larger.table.contains("for 30 nodes, not checked at this size (outside)"), "\(larger.table)")
        // `[expected] nodes` names the size outright.
        let named = try Scenario(toml: Self.toml.replacingOccurrences(of: "[expected]\n", with: "[expected]\nnodes = 60\n"))
        #expect(named.expectedNodes == 60 && !named.expectationsApply)
    }
}

/// The lookup's knobs as scenario keys (spec 0010 §5): absent, the node's own defaults.
@Suite struct LookupKeyTests {
    @Test func theLookupKeysOverrideTheNodesDefaults() throws {
        let base = "name = \"k\"\nseed = 1\n[platform]\nnodes = 10\n[deployment]\nduration_s = 10\n[deployment.dht]\nalpha = 3\n"
        let plain = try Scenario(toml: base)
        #expect(plain.deployment.shortTimeout == nil && plain.deployment.slowHoldsTermination == nil
                    && plain.deployment.adaptiveShortTimeoutFloor == nil)
        let classic = try Scenario(toml: base + "short_timeout_ms = 500\nslow_holds_termination = true\nadaptive_timeout_floor_ms = 0\n")
        #expect(classic.deployment.shortTimeout == .milliseconds(500) && classic.deployment.slowHoldsTermination == true
                    && classic.deployment.adaptiveShortTimeoutFloor == .zero)
        #expect(throws: ScenarioError.self) { try Scenario(toml: base + "short_timeout_ms = 0\n") }
    }

    @Test func dialBacksAndTheJoinRefreshCanBeTurnedOffAndTheReportSaysSo() throws {
        let base = "name = \"k\"\nseed = 1\n[platform]\nnodes = 10\n[deployment]\nduration_s = 10\n[deployment.dht]\nalpha = 3\n"
        #expect(try Scenario(toml: base).deployment.dialBack == nil)
        let off = try Scenario(toml: base + "dial_back = false\n")
        #expect(off.deployment.dialBack == false)
        #expect(Simulation(scenario: off).run().dhtSettings.contains("dial-backs off"))
        #expect(Simulation(scenario: try Scenario(toml: base)).run().dhtSettings.contains("dial-backs on, refresh after joining on, refresh α 2,"))
        let noRefresh = try Scenario(toml: base + "refresh_after_join = false\n")
        #expect(noRefresh.deployment.refreshesAfterJoin == false)
        #expect(Simulation(scenario: noRefresh).run().dhtSettings.contains("refresh after joining off"))
        let oneAtATime = try Scenario(toml: base + "refresh_alpha = 1\n")
        #expect(oneAtATime.deployment.refreshAlpha == 1)
        #expect(Simulation(scenario: oneAtATime).run().dhtSettings.contains("refresh α 1,"))
        #expect(throws: ScenarioError.self) { try Scenario(toml: base + "refresh_alpha = 0\n") }
    }

    /// Per-peer slow marks (`spec/0007` §5.7): the node's by default, tunable, 0 turns them off.
    @Test func perPeerSlowMarksFollowTheScenarioAndTheReportSaysSo() throws {
        let base = "name = \"k\"\nseed = 1\n[platform]\nnodes = 10\n[deployment]\nduration_s = 10\n[deployment.dht]\nalpha = 3\n"
        #expect(Simulation(scenario: try Scenario(toml: base)).run().dhtSettings
            .contains("per-peer slow mark 1.25 expected round trips + 20 ms,"))
        let tuned = try Scenario(toml: base + "expected_rtt_factor = 1.1\nexpected_rtt_margin_ms = 15\n")
        #expect(tuned.deployment.expectedRoundTripFactor == 1.1 && tuned.deployment.expectedRoundTripMargin == .milliseconds(15))
        #expect(Simulation(scenario: tuned).run().dhtSettings.contains("per-peer slow mark 1.1 expected round trips + 15 ms,"))
        let off = try Scenario(toml: base + "expected_rtt_factor = 0\n")
        #expect(Simulation(scenario: off).run().dhtSettings.contains("per-peer slow mark off,"))
        #expect(throws: ScenarioError.self) { try Scenario(toml: base + "expected_rtt_factor = -1\n") }
    }

    /// The converged burst (`spec/0007` §5.8): the node's by default, `converged_burst = false`
    /// turns it off, and the report says which.
    @Test func theConvergedBurstFollowsTheScenarioAndTheReportSaysSo() throws {
        let base = "name = \"b\"\nseed = 1\n[platform]\nnodes = 10\n[deployment]\nduration_s = 10\n[deployment.dht]\nalpha = 3\n"
        let plain = try Scenario(toml: base)
        #expect(plain.deployment.burstsWhenConverged == nil)
        #expect(Simulation(scenario: plain).run().dhtSettings.hasPrefix("α 3 among the k closest (8 once converged), k 8,"))
        let off = try Scenario(toml: base + "converged_burst = false\n")
        #expect(off.deployment.burstsWhenConverged == false)
        #expect(Simulation(scenario: off).run().dhtSettings.hasPrefix("α 3 among the k closest, k 8,"))
        #expect(throws: ScenarioError.self) { try Scenario(toml: base + "converged_burst = 2\n") }
    }

    /// Overtaken queries free their slots (`spec/0007` §5.9): the node's by default,
    /// `overtaken_free_slots = false` keeps them, and the report says which.
    @Test func overtakenQueriesFollowTheScenarioAndTheReportSaysSo() throws {
        let base = "name = \"o\"\nseed = 1\n[platform]\nnodes = 10\n[deployment]\nduration_s = 10\n[deployment.dht]\n"
        let plain = try Scenario(toml: base)
        #expect(plain.deployment.overtakenFreeSlots == nil)
        #expect(Simulation(scenario: plain).run().dhtSettings.hasPrefix("α 7 among the k closest (8 once converged), k 8,"))
        let off = try Scenario(toml: base + "overtaken_free_slots = false\n")
        #expect(off.deployment.overtakenFreeSlots == false)
        #expect(Simulation(scenario: off).run().dhtSettings.hasPrefix("α 7 (8 once converged), k 8,"))
        #expect(throws: ScenarioError.self) { try Scenario(toml: base + "overtaken_free_slots = 1\n") }
    }
}
