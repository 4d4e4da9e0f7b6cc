import Bencode
import Coordinates
import PotluckCrypto
import Kademlia
import SeededRandom
import Testing

@Suite("DHT node state machine")
struct DHTNodeTests {
    static let idA = NodeID(hex: "1111111111111111111111111111111111111111")!
    static let idB = NodeID(hex: "2222222222222222222222222222222222222222")!

    @Test func answersAPingWithItsIDAndTheSendersAddress() throws {
        var node = DHTNode(id: Self.idA, seed: 1, now: .seconds(1))
        let source = Endpoint("127.0.0.2:6881")!
        let ping = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
        let actions = node.receive(ping, from: source, now: .seconds(2))
        #expect(actions.count == 2, "the reply, and a dial-back of the unknown querier (spec 0021 §4.1)")
        guard case .send(let bytes, let to) = try #require(actions.last) else {
            Issue.record("expected a send")
            return
        }
        #expect(to == source)
        // BEP 5 reply with our id, BEP 42 `ip` (127.0.0.2:6881), our Vivaldi report (`plc`: the
        // origin, a 10 µs minimum height, error 1.0) and our client version.
        let expected = "d2:ip6:\u{7f}\0\0\u{02}\u{1a}\u{e1}3:plcli0ei0ei10ei1000000ee1:rd2:id20:" + String(repeating: "\u{11}", count: 20)
            + "e1:t2:aa1:v4:PL\0\u{01}1:y1:re"
        #expect(bytes == Array(expected.unicodeScalars.map { UInt8($0.value) }))
        #expect(node.status.routingTableSize == 0, "not before it answers the dial-back")
        #expect(node.status.counters.queriesReceived["ping"] == 1)
    }

    /// Dial-back (spec 0021 §4.1): a querier enters the table only once it answers a ping sent
    /// from another port; one that does not (behind a NAT that filters) never does, and is not
    /// dialled back again for a while.
    @Test func aQuerierEntersTheTableOnlyWhenItAnswersADialBack() throws {
        var node = DHTNode(id: Self.idA, seed: 1, now: .seconds(1))
        let reachable = Endpoint("127.0.0.2:6881")!, hidden = Endpoint("127.0.0.3:6881")!
        let ping = { (id: String, t: String) in Array("d1:ad2:id20:\(id)e1:q4:ping1:t2:\(t)1:y1:qe".utf8) }
        let dialBack = { (actions: [DHTNode.Action]) -> [UInt8]? in
            for case .dialBack(let bytes, _) in actions { return bytes }
            return nil
        }
        // The reachable querier answers the dial-back: it is in.
        let asked = try #require(dialBack(node.receive(ping("abcdefghij0123456789", "aa"), from: reachable, now: .seconds(2))))
        let query = try KRPCMessage.decode(asked)
        let pong = KRPCMessage(transactionID: query.transactionID, kind: .response(KRPCMessage.Response(id: try #require(NodeID(bytes: Array("abcdefghij0123456789".utf8))))))
        _ = node.receive(pong.encoded(), from: reachable, now: .seconds(2))
        #expect(node.routingContacts.map(\.endpoint) == [reachable])
        #expect(node.status.rememberedEndpoints == 0, "the table remembers a member; it is not held twice")
        // Asked again, a known querier is not dialled back.
        #expect(dialBack(node.receive(ping("abcdefghij0123456789", "ab"), from: reachable, now: .seconds(3))) == nil)
        // The hidden one never answers: it stays out, and its next queries are not dialled back.
        #expect(dialBack(node.receive(ping("zyxwvutsrq9876543210", "ac"), from: hidden, now: .seconds(3))) != nil)
        _ = node.wake(now: .seconds(30))
        #expect(node.status.counters.dialBacksFailed == 1)
        #expect(dialBack(node.receive(ping("zyxwvutsrq9876543210", "ad"), from: hidden, now: .seconds(40))) == nil)
        #expect(node.routingContacts.map(\.endpoint) == [reachable])
        // Ten minutes on, it gets another chance.
        #expect(dialBack(node.receive(ping("zyxwvutsrq9876543210", "ae"), from: hidden, now: .seconds(700))) != nil)
    }

    /// A dial-back's outcome is forgotten by the maintenance after its memory runs out, not
    /// kept until 4,096 others fill the map.
    @Test func expiredDialBacksAreForgotten() throws {
        var node = DHTNode(id: Self.idA, seed: 1, now: .seconds(1))
        let ping = Array("d1:ad2:id20:zyxwvutsrq9876543210e1:q4:ping1:t2:aa1:y1:qe".utf8)
        _ = node.receive(ping, from: Endpoint("127.0.0.3:6881")!, now: .seconds(2))
        _ = node.wake(now: .seconds(30))
        #expect(node.status.counters.dialBacksFailed == 1)
        #expect(node.status.rememberedEndpoints == 1)
        _ = node.wake(now: .seconds(300))
        #expect(node.status.rememberedEndpoints == 1, "still within the ten minutes")
        _ = node.wake(now: .seconds(700))
        #expect(node.status.rememberedEndpoints == 0)
    }

    /// A target asked again is answered from the node's last reply while the routing table
    /// keeps its generation; a newcomer closer to the target changes the next answer once it
    /// has answered the node's dial-back (only verified members are handed out).
    @Test func repeatedFindNodeRepliesFollowTheRoutingTable() throws {
        var configuration = DHTNode.Configuration()
        configuration.encodesMessages = false
        var node = DHTNode(id: Self.idA, configuration: configuration, seed: 1, now: .seconds(1))
        var random = SplitMix64(seed: 5)
        let target = NodeID.random(using: &random)
        func findNode(from sender: NodeID, port: UInt16, at second: Double) throws -> [NodeID] {
            let query = KRPCMessage(transactionID: [0, UInt8(truncatingIfNeeded: port)],
                                    kind: .query(KRPCMessage.Query(id: sender, method: .findNode(target: target))))
            let source = Endpoint(address: .v4(0x0A00_0000 | UInt32(port)), port: port)
            let actions = node.receive(message: query, from: source, now: .seconds(second))
            guard let response = actions.lazy.compactMap({ action -> KRPCMessage.Response? in
                if case .sendMessage(let reply, _) = action, case .response(let response) = reply.kind { return response }
                return nil
            }).first else {
                Issue.record("expected a reply")
                return []
            }
            // The sender answers the dial-back, so it enters the table verified.
            for case .dialBack(let bytes, _) in actions {
                let pong = KRPCMessage(transactionID: try KRPCMessage.decode(bytes).transactionID,
                                       kind: .response(KRPCMessage.Response(id: sender)))
                _ = node.receive(message: pong, from: source, now: .seconds(second))
            }
            return (response.nodes ?? []).map(\.id)
        }
        // Ten senders join the table; each is answered with the closest it knows.
        var senders: [NodeID] = []
        for port in 1...10 as ClosedRange<UInt16> {
            let sender = NodeID.random(using: &random)
            senders.append(sender)
            _ = try findNode(from: sender, port: port, at: 2)
        }
        func truth() -> [NodeID] {
            Array(node.routingContacts.map(\.id).sorted { ($0 ^ target) < ($1 ^ target) }.prefix(8))
        }
        #expect(node.status.routingTableSize >= 8)
        let before = truth()
        // Known senders asking again change nothing: the same answer, three times.
        for round in 0..<3 { #expect(try findNode(from: senders[round], port: UInt16(round + 1), at: 3) == before) }
        // A newcomer nearer the target than all of them joins once it answers the dial-back its
        // query caused, and is in the next reply.
        var near = target
        near.low ^= 1
        #expect(try findNode(from: near, port: 11, at: 4) == before)
        let after = try findNode(from: senders[0], port: 1, at: 5)
        #expect(after.first == near && after == truth())
        #expect(try findNode(from: senders[1], port: 2, at: 6) == after)
    }

    @Test func malformedDatagramsAreCountedAndDropped() {
        var node = DHTNode(id: Self.idA, seed: 1, now: .zero)
        let source = Endpoint("127.0.0.2:1")!
        var random = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let length = Int(random.next() % 64)
            let garbage = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = node.receive(garbage, from: source, now: .seconds(1))
        }
        #expect(node.status.counters.dropped["malformed", default: 0] >= 1900)
        #expect(node.status.routingTableSize == 0)
        _ = node.receive([UInt8](repeating: 0x64, count: 5000), from: source, now: .seconds(1))
        #expect(node.status.counters.dropped["too-big"] == 1)
    }

    @Test func rateLimitsAFloodFromOneAddress() {
        var node = DHTNode(id: Self.idA, seed: 1, now: .zero)
        let source = Endpoint("127.0.0.2:1")!
        let ping = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
        var answered = 0
        for _ in 0..<1000 where !node.receive(ping, from: source, now: .seconds(1)).isEmpty { answered += 1 }
        let burst = Int(DHTNode.Configuration().queryBurstPerAddress)  // all at one instant: no refill
        #expect(answered == burst)
        #expect(node.status.counters.dropped["rate-limited"] == 1000 - burst)
    }

    /// `spec/0009` §4: many addresses of one /24, each within its own allowance, share the
    /// block's; an IPv6 /64 likewise.
    @Test func aFloodFromOneBlockIsCutAtTheBlock() {
        var node = DHTNode(id: Self.idA, seed: 1, now: .zero)
        let ping = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
        var answered = 0
        for host in 1...250 {
            for _ in 0..<4 where !node.receive(ping, from: Endpoint("203.0.113.\(host):6881")!, now: .seconds(1)).isEmpty { answered += 1 }
        }
        let burst = Int(DHTNode.Configuration().queryBurstPerBlock)
        #expect(answered == burst)
        #expect(node.status.counters.dropped["rate-limited-block"] == 1000 - burst)
        #expect(node.status.counters.dropped["rate-limited"] == nil)
        var v6 = 0
        for host in 1...600 where !node.receive(ping, from: Endpoint("[2001:db8:0:1::\(String(host, radix: 16))]:6881")!, now: .seconds(1)).isEmpty {
            v6 += 1
        }
        #expect(v6 == burst, "each IPv6 address of one /64 does not get a fresh allowance")
    }

    /// `spec/0009` §4: when queries come from everywhere at once the node's own budget holds,
    /// and its last quarter still answers a node that is in the routing table.
    @Test func underAGlobalOverloadAKnownNodeIsStillAnswered() throws {
        var node = DHTNode(id: Self.idA, seed: 1, now: .zero)
        let friend = Endpoint("192.168.100.7:6881")!  // a local address: its id need not be BEP 42's
        let friendID = "abcdefghij0123456789"
        let ping = { (id: String) in Array("d1:ad2:id20:\(id)e1:q4:ping1:t2:aa1:y1:qe".utf8) }
        // The friend joins the table by answering the dial-back its ping causes.
        var asked: [UInt8]?
        for case .dialBack(let bytes, _) in node.receive(ping(friendID), from: friend, now: .seconds(1)) { asked = bytes }
        let pong = KRPCMessage(transactionID: try KRPCMessage.decode(try #require(asked)).transactionID,
                               kind: .response(KRPCMessage.Response(id: try #require(NodeID(bytes: Array(friendID.utf8))))))
        _ = node.receive(pong.encoded(), from: friend, now: .seconds(1))
        #expect(node.routingContacts.map(\.endpoint) == [friend])
        // 4,000 strangers, each on a /24 of its own, all in the same instant.
        var answered = 0
        for index in 0..<4000 {
            let source = Endpoint("10.\(index / 250).\(index % 250).1:6881")!
            if node.receive(ping("zyxwvutsrq9876543210"), from: source, now: .seconds(1)).contains(where: {
                if case .send = $0 { true } else { false }
            }) { answered += 1 }
        }
        let burst = DHTNode.Configuration().replyBurst
        #expect(Double(answered) <= burst * 3 / 4 && Double(answered) >= burst * 3 / 4 - 10)
        #expect(node.status.counters.dropped["overloaded", default: 0] >= 990)
        #expect(!node.receive(ping(friendID), from: friend, now: .seconds(1)).isEmpty, "the reserve answers a known node")
    }

    @Test func anInfiniteRateTurnsTheLimiterOff() {
        var configuration = DHTNode.Configuration()
        configuration.queriesPerSecondPerAddress = .infinity
        configuration.queryBurstPerAddress = .infinity
        var node = DHTNode(id: Self.idA, configuration: configuration, seed: 1, now: .zero)
        let ping = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
        var answered = 0
        for _ in 0..<1000 where !node.receive(ping, from: Endpoint("127.0.0.2:1")!, now: .seconds(1)).isEmpty { answered += 1 }
        #expect(answered == 1000)
        #expect(node.status.counters.dropped["rate-limited"] == nil)
    }

    @Test func readOnlyNodesDoNotAnswer() {
        var configuration = DHTNode.Configuration()
        configuration.readOnly = true
        var node = DHTNode(id: Self.idA, configuration: configuration, seed: 1, now: .zero)
        let ping = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
        #expect(node.receive(ping, from: Endpoint("127.0.0.2:1")!, now: .seconds(1)).isEmpty)
    }

    @Test func pingCompletesWithTheRemoteIDAndTimesOut() throws {
        var network = VirtualNetwork()
        let a = network.addNode(index: 0, id: Self.idA)
        let b = network.addNode(index: 1, id: Self.idB)
        let request = network.start(.ping(b), on: a)
        guard case .pong(let id, let roundTrip, _) = try network.run(until: request).orFail() else {
            Issue.record("expected a pong")
            return
        }
        #expect(id == Self.idB)
        #expect(roundTrip == .milliseconds(40))
        network.silent.insert(b)
        let lost = network.start(.ping(b), on: a)
        guard case .failed(let reason) = try network.run(until: lost).orFail() else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.contains("no answer"))
    }

    /// Several queries out at once: the one answered completes, the others time out together
    /// and fail in the order they were sent (transaction id order), whatever was answered between.
    @Test func queriesOutTogetherTimeOutInTheOrderTheyWereSent() throws {
        var node = DHTNode(id: Self.idA, seed: 1, now: .seconds(1))
        var transactions: [[UInt8]] = []
        for (request, host) in [(1, 2), (2, 3), (3, 4), (4, 5)] as [(RequestID, UInt32)] {
            let actions = node.start(.ping(Endpoint(address: .v4(0x7F00_0000 | host), port: 6881)), request: request, now: .seconds(1))
            guard case .send(let bytes, _) = try #require(actions.first) else { Issue.record("expected a ping"); return }
            transactions.append(try KRPCMessage.decode(bytes).transactionID)
        }
        #expect(node.status.pendingQueries == 4)
        // Host 4 (request 3) answers.
        let pong = KRPCMessage(transactionID: transactions[2], kind: .response(KRPCMessage.Response(id: Self.idB)))
        let answered = node.receive(pong.encoded(), from: Endpoint(address: .v4(0x7F00_0004), port: 6881), now: .seconds(2))
        #expect(answered.contains { if case .completed(3, .pong) = $0 { true } else { false } })
        #expect(node.status.pendingQueries == 3)
        let expired = node.wake(now: .seconds(60))
        let failed = expired.compactMap { action -> RequestID? in
            if case .completed(let request, .failed) = action { request } else { nil }
        }
        #expect(failed == [1, 2, 4])
        #expect(node.status.pendingQueries == 0)
    }

    @Test func aSmallNetworkFindsTheTrueClosestNodes() throws {
        var network = VirtualNetwork()
        var random = SplitMix64(seed: 11)
        var ids: [NodeID] = []
        for index in 0..<60 {
            let id = NodeID.random(using: &random)
            ids.append(id)
            _ = network.addNode(index: index, id: id)
        }
        network.bootstrapAll()
        var exact = 0
        for _ in 0..<20 {
            let target = NodeID.random(using: &random)
            let from = network.order[Int(random.next() % 60)]
            let request = network.start(.findNode(target), on: from)
            guard case .nodes(let result) = try network.run(until: request).orFail() else { continue }
            let truth = Set(ids.filter { $0 != network.nodes[from]!.id }.sorted { ($0 ^ target) < ($1 ^ target) }.prefix(8))
            if Set(result.closest.map(\.id)) == truth { exact += 1 }
        }
        #expect(exact >= 18, "exact closest sets: \(exact) of 20")
    }

    @Test func vivaldiCoordinatesLearnTheRoundTripFromReplies() throws {
        var network = VirtualNetwork()  // every one-way delay is 20 ms: every round trip 40 ms
        var random = SplitMix64(seed: 21)
        for index in 0..<30 { _ = network.addNode(index: index, id: NodeID.random(using: &random)) }
        network.bootstrapAll()
        for _ in 0..<40 {
            let request = network.start(.findNode(NodeID.random(using: &random)), on: network.order[Int(random.next() % 30)])
            _ = network.run(until: request)
        }
        var errors: [Double] = []
        for (a, b) in zip(network.order, network.order.dropFirst()) {
            let estimate = network.nodes[a]!.vivaldi.estimatedRTT(to: network.nodes[b]!.vivaldi.coordinate)
            errors.append(abs(estimate - 40) / 40)
        }
        let median = errors.sorted()[errors.count / 2]
        #expect(median < 0.25, "median relative error \(median)")
        #expect(network.nodes[network.order[5]]!.vivaldi.samples > 10)
    }

    @Test func itemsPutOnOneNodeAreFoundFromAnother() throws {
        var network = VirtualNetwork()
        var random = SplitMix64(seed: 5)
        for index in 0..<40 { _ = network.addNode(index: index, id: NodeID.random(using: &random)) }
        network.bootstrapAll()
        let writer = network.order[3], reader = network.order[29]

        let immutable = ImmutableItem(encoding: BencodeValue("hello potluck"))
        let put = network.start(.put(.immutable(immutable)), on: writer)
        guard case .stored(let target, let storedOn, _) = try network.run(until: put).orFail() else {
            Issue.record("immutable put failed: \(String(describing: network.completions[put]))")
            return
        }
        #expect(target == immutable.target)
        #expect(storedOn >= 6)
        let get = network.start(.get(target, salt: []), on: reader)
        guard case .item(let item, let foundOn, _) = try network.run(until: get).orFail() else {
            Issue.record("get failed")
            return
        }
        #expect(item == .immutable(immutable))
        #expect(foundOn >= 1)

        let key = SigningKey.generate()
        let v1 = MutableItem(signing: BencodeValue("offer v1"), salt: Array("slot".utf8), sequence: 1, with: key)
        let v2 = MutableItem(signing: BencodeValue("offer v2"), salt: Array("slot".utf8), sequence: 2, with: key)
        for version in [v1, v2] {
            let request = network.start(.put(.mutable(version)), on: writer)
            guard case .stored = try network.run(until: request).orFail() else {
                Issue.record("mutable put failed")
                return
            }
        }
        let getMutable = network.start(.get(v2.target, salt: Array("slot".utf8)), on: reader)
        guard case .item(let found, _, _) = try network.run(until: getMutable).orFail() else {
            Issue.record("mutable get failed")
            return
        }
        #expect(found == .mutable(v2))
    }

    @Test func announcedPeersAreFound() throws {
        var network = VirtualNetwork()
        var random = SplitMix64(seed: 9)
        for index in 0..<30 { _ = network.addNode(index: index, id: NodeID.random(using: &random)) }
        network.bootstrapAll()
        let topic = NodeID(bytes: SHA1.hash(Array("potluck rendezvous".utf8)))!
        let announce = network.start(.announce(topic, port: 4242), on: network.order[7])
        guard case .announced(let storedOn, _) = try network.run(until: announce).orFail() else {
            Issue.record("announce failed")
            return
        }
        #expect(storedOn >= 6)
        let lookup = network.start(.getPeers(topic), on: network.order[20])
        guard case .peers(let peers, _) = try network.run(until: lookup).orFail() else {
            Issue.record("get_peers failed")
            return
        }
        #expect(peers == [Endpoint(address: VirtualNetwork.endpoint(7).address, port: 4242)])
    }

    /// spec 0021 §5.3: the storing nodes report the key each peer announced with (`plks`), so a
    /// borrower learns a lender's key without pinging it; a peer announced without one has none.
    @Test func getPeersReportsTheKeysPeersAnnouncedWith() throws {
        var network = VirtualNetwork()
        var random = SplitMix64(seed: 11)
        let lender = SigningKey.generate().publicKey
        for index in 0..<30 {
            var configuration = DHTNode.Configuration()
            if index == 7 { configuration.identity = lender }
            _ = network.addNode(index: index, id: NodeID.random(using: &random), configuration: configuration)
        }
        network.bootstrapAll()
        let topic = NodeID(bytes: SHA1.hash(Array("potluck offers v1 wasm32-wasi".utf8)))!
        for announcer in [7, 8] {
            let announce = network.start(.announce(topic, port: 4242), on: network.order[announcer])
            guard case .announced = try network.run(until: announce).orFail() else { Issue.record("announce failed"); return }
        }
        let lookup = network.start(.getPeers(topic), on: network.order[20])
        guard case .peers(let peers, let result) = try network.run(until: lookup).orFail() else { Issue.record("get_peers failed"); return }
        let seven = Endpoint(address: VirtualNetwork.endpoint(7).address, port: 4242)
        let eight = Endpoint(address: VirtualNetwork.endpoint(8).address, port: 4242)
        #expect(Set(peers) == [seven, eight])
        #expect(result.peerKeys == [seven: lender])
    }

    @Test func aBadTokenIsRefusedWithAProtocolError() throws {
        var node = DHTNode(id: Self.idA, seed: 1, now: .zero)
        let announce = KRPCMessage(transactionID: [1, 2], kind: .query(KRPCMessage.Query(
            id: Self.idB, method: .announcePeer(KRPCMessage.AnnouncePeer(infoHash: Self.idB, port: 1, token: [0, 0, 0])))))
        let actions = node.receive(announce.encoded(), from: Endpoint("127.0.0.2:1")!, now: .seconds(1))
        guard case .send(let bytes, _) = try #require(actions.last) else {
            Issue.record("expected a reply")
            return
        }
        let reply = try KRPCMessage.decode(bytes)
        #expect(reply.kind == .error(KRPCErrorMessage(code: 203, message: "invalid token")))
    }
}

struct MissingOutcome: Error {}

extension Optional {
    /// The value, or a thrown error (a test that reaches here fails).
    func orFail() throws -> Wrapped {
        guard let value = self else { throw MissingOutcome() }
        return value
    }
}

@Suite("BEP 42 external address votes")
struct ExternalAddressTests {
    @Test func threeRespondersAgreeingOnAPublicAddressMakeItKnownAndGiveTheNodeItsID() throws {
        let oldID = NodeID(hex: String(repeating: "33", count: 20))!
        var node = DHTNode(id: oldID, seed: 1, now: .zero)
        let publicAddress = Endpoint("124.31.75.21:6881")!
        try #require(!NodeIDSecurity.isValid(oldID, for: publicAddress.address))
        var announced: [Endpoint.Address] = [], taken: [NodeID] = []
        for responder in 0..<4 {
            // Responders on exempt addresses, so that the table keeps them whatever their ids.
            let peer = Endpoint(address: .v4(0x0A08_0800 | UInt32(responder)), port: 6881)
            let ping = node.start(.ping(peer), request: UInt64(responder + 1), now: .seconds(1))
            let bytes = try #require(ping.sentBytes, "a ping goes out")
            let query = try KRPCMessage.decode(bytes)
            #expect(query.senderID == (responder < 3 ? oldID : taken.first), "queries carry the id the node has now")
            let reply = KRPCMessage(transactionID: query.transactionID,
                                    kind: .response(KRPCMessage.Response(id: NodeID(hex: String(repeating: "4\(responder)", count: 20))!)),
                                    senderIP: publicAddress)
            for action in node.receive(reply.encoded(), from: peer, now: .seconds(1)) {
                if case .externalAddress(let address) = action { announced.append(address) }
                if case .nodeIDChanged(let id) = action { taken.append(id) }
            }
        }
        #expect(announced == [publicAddress.address])  // once, at the third vote
        #expect(node.agreedExternalAddress == publicAddress.address)
        // BEP 42: the id is now bound to that address, the table kept every responder.
        #expect(taken.count == 1 && taken.first == node.id && NodeIDSecurity.isValid(node.id, for: publicAddress.address))
        #expect(node.routingContacts.count == 4)
        #expect(node.adoptSecureID(for: publicAddress.address, now: .seconds(2)).isEmpty, "an id that fits is kept")
    }

    /// A seventeenth responder pushes out the oldest report, not all of them (spec 0021 §2): a
    /// NAT's verdict never starts again from a single report.
    @Test func aSeventeenthResponderForgetsOnlyTheOldestReport() throws {
        var node = DHTNode(id: NodeID(hex: String(repeating: "33", count: 20))!, seed: 3, now: .zero)
        let seen = Endpoint("203.0.113.40:6881")!
        let responder = { (index: Int) in Endpoint(address: .v4(0x0A08_0800 | UInt32(index)), port: 6881) }
        for index in 0..<17 {
            let ping = node.start(.ping(responder(index)), request: UInt64(index + 1), now: .seconds(1))
            let bytes = try #require(ping.sentBytes, "a ping goes out")
            let reply = KRPCMessage(transactionID: try KRPCMessage.decode(bytes).transactionID,
                                    kind: .response(KRPCMessage.Response(id: NodeID(hex: String(repeating: "5", count: 37) + String(0x100 + index, radix: 16))!)),
                                    senderIP: seen)
            _ = node.receive(reply.encoded(), from: responder(index), now: .seconds(1))
        }
        #expect(Set(node.observedEndpoints.keys) == Set((1..<17).map { responder($0).address }))
        #expect(node.observedEndpoints.values.allSatisfy { $0 == seen })
    }

    @Test func aNodeThatKnowsItsAddressFromItsRouterTakesItsIDAndTellsItsNeighbourhood() throws {
        var node = DHTNode(id: NodeID(hex: String(repeating: "33", count: 20))!, seed: 2, now: .zero)
        #expect(node.adoptSecureID(for: .v4(0xC0A8_0001), now: .zero).isEmpty, "a local address binds no id")
        let address = Endpoint("203.0.113.40:6891")!.address
        let actions = node.adoptSecureID(for: address, now: .zero)
        #expect(actions.contains(.nodeIDChanged(node.id)) && NodeIDSecurity.isValid(node.id, for: address))
        node.setAdoptsSecureID(false)
        #expect(!node.configuration.adoptsSecureID)
    }
}

extension [DHTNode.Action] {
    /// The bytes of the first datagram these actions send, if any.
    var sentBytes: [UInt8]? {
        for case .send(let bytes, _) in self { return bytes }
        return nil
    }
}

extension KRPCMessage {
    /// The `id` a query carries.
    var senderID: NodeID? {
        if case .query(let query) = kind { query.id } else { nil }
    }
}
