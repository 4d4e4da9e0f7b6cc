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
}
