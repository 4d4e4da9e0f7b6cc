// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Testing

/// The node's side of a lookup's resend (`spec/0007-dht-lookup.md` §5.5): two queries out to one
/// peer, and once either is answered the other is forgotten, so its timeout never counts
/// against a peer that answered.
@Suite("DHT node resends")
struct DHTNodeResendTests {
    typealias L = DHTNodeLivenessTests

    /// The transaction ids of the `find_node` queries `actions` send to `endpoint`.
    static func findNodes(in actions: [DHTNode.Action], to endpoint: Endpoint) -> [[UInt8]] {
        actions.compactMap { action in
            guard case .sendMessage(let message, let destination) = action, destination == endpoint,
                  case .query(let query) = message.kind, case .findNode = query.method else { return nil }
            return message.transactionID
        }
    }

    @Test func aSlowPeerIsAskedTwiceAndItsAnswerCancelsTheTwin() throws {
        var node = try L.nodeWithMember(checksEvery: nil)
        var target = L.member
        target.low ^= 1
        let first = try #require(Self.findNodes(in: node.start(.findNode(target), request: 2, now: .seconds(2)),
                                                to: L.memberEndpoint).first)
        // No reply within the short timeout (1 s, no round trip sampled yet): asked again.
        let second = try #require(Self.findNodes(in: node.wake(now: .seconds(3)), to: L.memberEndpoint).first)
        #expect(second != first)
        // The first query's late answer ends the lookup with the member in its result.
        let answer = KRPCMessage(transactionID: first, kind: .response(KRPCMessage.Response(id: L.member)))
        let actions = node.receive(message: answer, from: L.memberEndpoint, now: .seconds(3.5))
        let result = actions.lazy.compactMap { action -> LookupResult? in
            if case .completed(2, .nodes(let result)) = action { return result }
            return nil
        }.first
        #expect(result?.closest.map(\.id) == [L.member])
        #expect(result?.resent == 1)
        // Past both queries' five seconds: the twin was forgotten, so nothing timed out and the
        // member is still handed out.
        _ = node.wake(now: .seconds(9))
        #expect(node.status.counters.timeouts == 0)
        #expect(L.handedOut(by: &node, at: 9.5, asker: 1) == [L.member])
    }
}
