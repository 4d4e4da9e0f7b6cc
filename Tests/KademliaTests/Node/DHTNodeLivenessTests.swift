// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Testing

/// Routing-table liveness (`spec/0004-dht-routing.md` §5.3): quiet members are pinged, a member
/// that fails is no longer handed out, and one that comes back is pinged when it queries us.
@Suite("DHT node liveness")
struct DHTNodeLivenessTests {
    static let own = NodeID(hex: "1111111111111111111111111111111111111111")!
    static let member = NodeID(hex: "2222222222222222222222222222222222222222")!
    static let memberEndpoint = Endpoint("10.0.0.2:6881")!

    static func node(checksEvery interval: Duration? = .seconds(10)) -> DHTNode {
        var configuration = DHTNode.Configuration()
        configuration.encodesMessages = false
        configuration.livenessCheckInterval = interval
        configuration.livenessQuietAfter = .seconds(60)
        return DHTNode(id: own, configuration: configuration, seed: 1, now: .seconds(1))
    }

    /// The transaction ids of the pings `actions` send to `endpoint`.
    static func pings(in actions: [DHTNode.Action], to endpoint: Endpoint) -> [[UInt8]] {
        actions.compactMap { action in
            guard case .sendMessage(let message, let destination) = action, destination == endpoint,
                  case .query(let query) = message.kind, case .ping = query.method else { return nil }
            return message.transactionID
        }
    }

    static func pong(_ transaction: [UInt8], from id: NodeID) -> KRPCMessage {
        KRPCMessage(transactionID: transaction, kind: .response(KRPCMessage.Response(id: id)))
    }

    /// The ids `node` hands out for a `find_node` of the member's id, asked from a fresh port.
    static func handedOut(by node: inout DHTNode, at second: Double, asker: UInt16) -> [NodeID] {
        var askerID = member
        askerID.low ^= UInt32(asker) << 16
        let query = KRPCMessage(transactionID: [9, UInt8(truncatingIfNeeded: asker)],
                                kind: .query(KRPCMessage.Query(id: askerID, method: .findNode(target: member))))
        let actions = node.receive(message: query, from: Endpoint(address: .v4(0x0A00_1000 | UInt32(asker)), port: 6881),
                                   now: .seconds(second))
        for case .sendMessage(let reply, _) in actions {
            if case .response(let response) = reply.kind { return (response.nodes ?? []).map(\.id) }
        }
        return []
    }

    /// A node whose only member has answered a ping.
    static func nodeWithMember(checksEvery interval: Duration? = .seconds(10)) throws -> DHTNode {
        var node = node(checksEvery: interval)
        let sent = try #require(pings(in: node.start(.ping(memberEndpoint), request: 1, now: .seconds(1)), to: memberEndpoint).first)
        _ = node.receive(message: pong(sent, from: member), from: memberEndpoint, now: .seconds(1))
        #expect(node.routingContacts.map(\.id) == [member])
        return node
    }

    @Test func aQuietMemberIsPingedAndOneThatFailsIsNoLongerHandedOut() throws {
        var node = try Self.nodeWithMember()
        #expect(Self.pings(in: node.wake(now: .seconds(31)), to: Self.memberEndpoint).isEmpty, "quiet for 30 s only")
        let check = Self.pings(in: node.wake(now: .seconds(61)), to: Self.memberEndpoint)
        #expect(check.count == 1)
        #expect(node.status.counters.livenessChecks == 1)
        #expect(node.status.counters.queriesSentByCause == ["ping": 1, "table-ping": 1], "the command's ping, then the check")
        #expect(Self.handedOut(by: &node, at: 62, asker: 1) == [Self.member], "not yet failed")
        _ = node.wake(now: .seconds(66.5))  // the check's five seconds are up
        #expect(Self.handedOut(by: &node, at: 67, asker: 2).isEmpty, "it failed our last query")
        #expect(node.routingContacts.map(\.id) == [Self.member], "still a member: one failure is not two")
        // The next check asks it again; it answers and is handed out again.
        let again = try #require(Self.pings(in: node.wake(now: .seconds(71)), to: Self.memberEndpoint).first)
        _ = node.receive(message: Self.pong(again, from: Self.member), from: Self.memberEndpoint, now: .seconds(71.1))
        #expect(Self.handedOut(by: &node, at: 72, asker: 3) == [Self.member])
    }

    @Test func aFailedMemberThatQueriesUsIsPingedAndCountsAgainOnceItAnswers() throws {
        var node = try Self.nodeWithMember()
        _ = node.wake(now: .seconds(61))
        _ = node.wake(now: .seconds(66.5))
        _ = node.wake(now: .seconds(71))
        _ = node.wake(now: .seconds(76.5))  // two checks unanswered: it is bad
        #expect(Self.handedOut(by: &node, at: 77, asker: 1).isEmpty)
        // It comes back and queries us: its query alone proves nothing, so we ping it.
        let query = KRPCMessage(transactionID: [7, 7], kind: .query(KRPCMessage.Query(id: Self.member, method: .ping)))
        let actions = node.receive(message: query, from: Self.memberEndpoint, now: .seconds(90))
        let ping = try #require(Self.pings(in: actions, to: Self.memberEndpoint).first)
        #expect(Self.handedOut(by: &node, at: 90.05, asker: 2).isEmpty, "not before it answers")
        _ = node.receive(message: Self.pong(ping, from: Self.member), from: Self.memberEndpoint, now: .seconds(90.1))
        #expect(Self.handedOut(by: &node, at: 91, asker: 3) == [Self.member])
    }

    @Test func withoutLivenessChecksAQuietMemberIsLeftAlone() throws {
        var node = try Self.nodeWithMember(checksEvery: nil)
        for second in stride(from: 11.0, through: 901, by: 10) {
            #expect(Self.pings(in: node.wake(now: .seconds(second)), to: Self.memberEndpoint).isEmpty)
        }
        #expect(node.status.counters.livenessChecks == 0)
        #expect(Self.handedOut(by: &node, at: 902, asker: 1) == [Self.member], "BEP 5: questionable, not failed")
    }
}
