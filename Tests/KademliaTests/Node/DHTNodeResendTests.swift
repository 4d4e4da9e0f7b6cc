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

    /// A node others hand out that never answers (issue 20's sybil, or one just dead) costs one
    /// timeout, not one per lookup (`spec/0007-dht-lookup.md` §5.6).
    @Test func anEndpointThatLetALookupQueryTimeOutIsLeftOutOfLaterLookups() throws {
        var node = try L.nodeWithMember(checksEvery: nil)
        var silentID = L.member
        silentID.low ^= 2
        let silent = NodeContact(id: silentID, endpoint: Endpoint("10.0.0.9:6881")!)
        var target = L.member
        target.low ^= 1
        /// Starts a lookup at `second`, has the member hand out the silent node, and returns the
        /// queries the node then sends to the silent node's endpoint.
        func lookup(_ request: RequestID, at second: Double) throws -> Int {
            let first = try #require(Self.findNodes(in: node.start(.findNode(target), request: request, now: .seconds(second)),
                                                    to: L.memberEndpoint).first)
            let answer = KRPCMessage(transactionID: first, kind: .response(KRPCMessage.Response(id: L.member, nodes: [silent])))
            return Self.findNodes(in: node.receive(message: answer, from: L.memberEndpoint, now: .seconds(second + 0.01)),
                                  to: silent.endpoint).count
        }
        #expect(try lookup(2, at: 2) == 1, "the first lookup asks it")
        _ = node.wake(now: .seconds(8))  // its five seconds are up
        #expect(node.status.counters.timeouts >= 1)
        #expect(try lookup(3, at: 10) == 0, "a later lookup leaves it out")
        _ = node.wake(now: .seconds(20))
        #expect(try lookup(4, at: 2 + 5 + 300 + 1) == 1, "until the five minutes are up")
    }
}
