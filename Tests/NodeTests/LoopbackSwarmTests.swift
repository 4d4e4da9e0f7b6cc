import Foundation
import Node
import Testing

/// Real UDP sockets on loopback, one per node: the DHT converges and stores.
@Suite("Loopback swarm")
struct LoopbackSwarmTests {
    @Test func threeHundredNodesOnLoopbackConvergeAndServeItems() async throws {
        let swarm = LoopbackSwarm(nodes: Int(ProcessInfo.processInfo.environment["SWARM_NODES"] ?? "300")!, lookups: 40, items: 10, seed: 42)
        let report = try await swarm.run()
        print("swarm: exact \(report.exactLookups)/\(report.lookups) timeouts \(report.timeouts) dropped \(report.droppedByReason) setup \(report.setupDuration)")
        #expect(report.lookups == 40)
        // Every lookup should find the true 8 closest; allow one miss for a lost datagram.
        #expect(report.exactLookups >= 39, "exact: \(report.exactLookups) of \(report.lookups)")
        #expect(report.hops.max() ?? 99 <= 6)
        #expect(report.putsStored == 10)
        #expect(report.getsFound == 10)
    }

    /// A third of the nodes killed once the tables are built (issue 19): lookups meet departed
    /// peers at every hop, pass them over, and end with live peers only, nearly all of the true
    /// live closest (a live peer that only dead peers knew of, or that waits in replacement
    /// caches behind dead members, cannot be found until the tables heal); items put and got
    /// among the survivors are found.
    @Test func lookupsStillFindTheLiveClosestWhenAThirdOfTheNodesAreKilled() async throws {
        var swarm = LoopbackSwarm(nodes: 150, lookups: 32, items: 6, seed: 7)
        swarm.killedFraction = 1.0 / 3
        let report = try await swarm.run()
        let recall = report.recallSum / Double(max(1, report.lookups))
        print("killed swarm: exact \(report.exactLookups)/\(report.lookups) recall \(recall) timeouts \(report.timeouts) failed \(report.failedLookups)")
        #expect(report.lookups == 32, "failed: \(report.failedLookups)")
        #expect(report.timeouts > 0, "the killed nodes were queried and did not answer")
        #expect(recall >= 0.85, "recall \(recall)")
        #expect(report.exactLookups >= 12, "exact: \(report.exactLookups) of \(report.lookups)")
        #expect(report.getsFound == report.puts)
    }
}
