// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
@testable import Kademlia
import Testing

/// Which lookups burst once converged (`spec/0007` §5.8) and free overtaken queries' slots at
/// α 7 (§5.9): those someone waits for; not the bootstrap and refresh lookups that fill the
/// table, which keep α 4 (refresh: its own 2) with every query holding its slot.
@Suite("DHT node lookup settings")
struct DHTNodeLookupSettingsTests {
    @Test func onlyTheLookupsSomeoneWaitsForBurst() {
        var configuration = DHTNode.Configuration()
        configuration.refreshQueriesInFlight = 2
        let node = DHTNode(id: NodeID(hex: "1111111111111111111111111111111111111111")!, configuration: configuration,
                           seed: 1, now: .seconds(1))
        for kind: Operation.Kind in [.findNode, .getPeers, .announce(port: nil), .get] {
            let lookup = node.lookupConfiguration(for: kind)
            #expect(lookup.burstsWhenConverged && lookup.overtakenFreeSlots && lookup.alpha == 7, "\(kind)")
        }
        let bootstrap = node.lookupConfiguration(for: .bootstrap)
        #expect(!bootstrap.burstsWhenConverged && !bootstrap.overtakenFreeSlots && bootstrap.alpha == 4)
        let refresh = node.lookupConfiguration(for: .refresh)
        #expect(!refresh.burstsWhenConverged && !refresh.overtakenFreeSlots && refresh.alpha == 2)
    }
}
