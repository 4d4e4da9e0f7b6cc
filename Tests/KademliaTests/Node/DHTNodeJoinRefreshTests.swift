// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Testing

/// Refresh after joining (`spec/0004-dht-routing.md` §5.4): once the bootstrap lookup ends, a
/// node looks up a random id in every bucket but its own that has room left.
@Suite("DHT node join refresh")
struct DHTNodeJoinRefreshTests {
    static let own = NodeID(hex: "1111111111111111111111111111111111111111")!
    static let entry = Endpoint("10.0.1.1:6881")!

    /// Ten nodes near ours (prefix `001`; ours is `000…`), none on the far half: the entry
    /// (`0101…`) and they split the table into `1…` (empty), `01…` (the entry), `001…` (full) and
    /// our own `000…`.
    static let contacts: [NodeContact] = (0..<10).map { index in
        var id = NodeID(hex: "2" + String(repeating: "0", count: 39))!
        id.low = UInt32(index + 1)
        return NodeContact(id: id, endpoint: Endpoint(address: .v4(0x0A00_0200 | UInt32(index + 1)), port: 6881))
    }

    /// Bootstraps through `entry`, which names the ten; each of them answers with nobody.
    /// The targets of the `find_node` queries sent after the bootstrap completed.
    static func targetsAfterJoin(refreshing: Bool) throws -> [NodeID] {
        var configuration = DHTNode.Configuration()
        configuration.encodesMessages = false
        configuration.refreshesAfterJoin = refreshing
        configuration.dialBack = false
        var node = DHTNode(id: own, configuration: configuration, seed: 3, now: .seconds(1))
        var pending = node.start(.bootstrap([entry]), request: 1, now: .seconds(1))
        var joined = false
        var afterJoin: [NodeID] = []
        var second = 1.0
        for _ in 0..<200 {
            var next: [DHTNode.Action] = []
            for action in pending {
                if case .completed(_, .bootstrapped) = action { joined = true }
                guard case .sendMessage(let message, let destination) = action, case .query(let query) = message.kind,
                      case .findNode(let target) = query.method else { continue }
                if joined { afterJoin.append(target) }
                let id = destination == entry ? NodeID(hex: "5555555555555555555555555555555555555555")!
                    : try #require(contacts.first { $0.endpoint == destination }).id
                let response = KRPCMessage.Response(id: id, nodes: destination == entry ? contacts : [])
                second += 0.01
                next += node.receive(message: KRPCMessage(transactionID: message.transactionID, kind: .response(response)),
                                     from: destination, now: .seconds(second))
            }
            guard !next.isEmpty else { break }
            pending = next
        }
        #expect(joined, "the bootstrap lookup ended")
        return afterJoin
    }

    @Test func aBucketWithRoomIsLookedUpOnceTheNodeHasJoined() throws {
        let targets = try Self.targetsAfterJoin(refreshing: true)
        #expect(targets.contains { $0.high >> 63 == 1 }, "the empty far half was looked up: \(targets)")
        #expect(targets.contains { $0.high >> 62 == 1 }, "the entry's bucket, with room left, too: \(targets)")
        #expect(targets.allSatisfy { $0.high >> 61 != 1 }, "not the full bucket: \(targets)")
        #expect(try Self.targetsAfterJoin(refreshing: false).isEmpty, "nothing after the join without it")
    }

    /// A refresh ends once its bucket is full (§5.4). The far half starts empty; every node
    /// asked for a target there names three nodes each closer to it than itself, in a chain 32
    /// deep, so a lookup run to its end would ask some thirty of them. The refresh asks only
    /// the eight that fill the bucket, and at most one more already in flight.
    @Test func aRefreshEndsOnceItsBucketIsFull() throws {
        var configuration = DHTNode.Configuration()
        configuration.encodesMessages = false
        configuration.dialBack = false
        var node = DHTNode(id: Self.own, configuration: configuration, seed: 3, now: .seconds(1))
        var ids: [Endpoint: NodeID] = [Self.entry: NodeID(hex: "5555555555555555555555555555555555555555")!]
        var levels: [Endpoint: Int] = [:]
        for contact in Self.contacts { ids[contact.endpoint] = contact.id }
        /// Three nodes one level closer to `target` than `level` (distances `2^32 >> level` minus 1, 2, 3).
        func closer(to target: NodeID, than level: Int) -> [NodeContact] {
            guard level < 32 else { return [] }
            return (1...3).map { variant in
                var id = target
                id.low ^= UInt32((UInt64(1) << 32) >> (level + 1)) &- UInt32(variant)
                let endpoint = Endpoint(address: .v4(0x0A01_0000 | UInt32(level + 1) << 8 | UInt32(variant)), port: 6881)
                ids[endpoint] = id
                levels[endpoint] = level + 1
                return NodeContact(id: id, endpoint: endpoint)
            }
        }
        var pending = node.start(.bootstrap([Self.entry]), request: 1, now: .seconds(1))
        var farQueries = 0
        var second = 1.0
        for _ in 0..<400 {
            var next: [DHTNode.Action] = []
            for action in pending {
                guard case .sendMessage(let message, let destination) = action, case .query(let query) = message.kind,
                      case .findNode(let target) = query.method else { continue }
                let far = target.high >> 63 == 1
                if far, levels[destination] != nil { farQueries += 1 }
                let nodes = destination == Self.entry ? Self.contacts : far ? closer(to: target, than: levels[destination] ?? 0) : []
                let response = KRPCMessage.Response(id: try #require(ids[destination]), nodes: nodes)
                second += 0.01
                next += node.receive(message: KRPCMessage(transactionID: message.transactionID, kind: .response(response)),
                                     from: destination, now: .seconds(second))
            }
            guard !next.isEmpty else { break }
            pending = next
        }
        let farMembers = node.routingContacts.filter { $0.id.high >> 63 == 1 }.count
        #expect(farMembers == 8, "the far bucket filled")
        #expect(farQueries >= 8 && farQueries <= 9, "asked \(farQueries) far nodes")
    }
}
