// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
@testable import Kademlia
import Testing

/// Which lookups burst once converged (`spec/0007` §5.8): those someone waits for; not the
/// bootstrap and refresh lookups that fill the table.
@Suite("DHT node lookup settings")
struct DHTNodeLookupSettingsTests {
    @Test func onlyTheLookupsSomeoneWaitsForBurst() {
        var configuration = DHTNode.Configuration()
        configuration.refreshQueriesInFlight = 2
        let node = DHTNode(id: NodeID(hex: "1111111111111111111111111111111111111111")!, configuration: configuration,
                           seed: 1, now: .seconds(1))
        for kind: Operation.Kind in [.findNode, .getPeers, .announce(port: nil), .get] {
            let lookup = node.lookupConfiguration(for: kind)
            #expect(lookup.burstsWhenConverged && lookup.alpha == configuration.lookup.alpha, "\(kind)")
        }
        let bootstrap = node.lookupConfiguration(for: .bootstrap)
        #expect(!bootstrap.burstsWhenConverged && bootstrap.alpha == configuration.lookup.alpha)
        let refresh = node.lookupConfiguration(for: .refresh)
        #expect(!refresh.burstsWhenConverged && refresh.alpha == 2)
    }
}
