@testable import Kademlia
import SeededRandom
import Testing

/// Address diversity in the routing table (`spec/0004-dht-routing.md` §6.1): one member per
/// public address per bucket, a few per /24 (/64) in the whole table, local addresses exempt, and
/// only members that answered us handed out to others.
@Suite("routing table address diversity")
struct RoutingDiversityTests {
    static let own = NodeID(hex: "8000000000000000000000000000000000000000")!

    static func contact(_ id: NodeID, _ address: String) -> NodeContact {
        NodeContact(id: id, endpoint: Endpoint(address)!)
    }

    @Test func aSecondNodeFromOnePublicAddressIsRefusedInItsBucket() {
        var random = SplitMix64(seed: 1)
        var table = RoutingTable(ownID: Self.own, configuration: Routing.unenforced)
        let now = Routing.time(0)
        #expect(table.heardFrom(Self.contact(.random(using: &random), "203.0.113.5:6881"), kind: .response, now: now) == .added)
        // Same address, another port and id, same (only) bucket: refused, whichever way it was heard.
        #expect(table.heardFrom(Self.contact(.random(using: &random), "203.0.113.5:6882"), kind: .response, now: now)
                == .rejected(.addressInBucket))
        #expect(!table.hasRoom(for: Self.contact(.random(using: &random), "203.0.113.5:6883"), now: now))
        // A neighbour address is welcome; so are any number of nodes on loopback or a LAN.
        #expect(table.heardFrom(Self.contact(.random(using: &random), "203.0.113.6:6881"), kind: .response, now: now) == .added)
        for port in 1...3 {
            #expect(table.heardFrom(Self.contact(.random(using: &random), "127.0.0.1:\(port)"), kind: .response, now: now) == .added)
            #expect(table.heardFrom(Self.contact(.random(using: &random), "192.168.1.9:\(port)"), kind: .response, now: now) == .added)
        }
        #expect(table.count == 8)
    }

    /// Issue 20's sybils answer pings and nothing else: each goes bad, and the next from the same
    /// address would take its slot, each costing lookups a timeout. The address is barred for
    /// ten minutes instead; after that a newcomer takes the bad member's slot, never one beside it.
    @Test func anAddressWhoseMemberWentBadIsBarredThenItsNewcomerTakesTheSlot() {
        var random = SplitMix64(seed: 2)
        var table = RoutingTable(ownID: Self.own, configuration: Routing.unenforced)
        let now = Routing.time(0)
        let first = Self.contact(.random(using: &random), "198.51.100.90:20000")
        let waiting = Self.contact(.random(using: &random), "198.51.100.90:20002")
        #expect(table.heardFrom(first, kind: .response, now: now) == .added)
        table.failed(first.id, now: now)
        let second = Self.contact(.random(using: &random), "198.51.100.90:20001")
        #expect(table.heardFrom(second, kind: .response, now: now) == .rejected(.addressInBucket), "one failure is not bad yet")
        table.failed(first.id, now: now)
        #expect(table.heardFrom(second, kind: .response, now: now) == .rejected(.addressBarred))
        #expect(!table.hasRoom(for: waiting, now: now))
        #expect(table.heardFrom(first, kind: .response, now: now) == .updated, "the member itself may come back")
        table.failed(first.id, now: now)
        table.failed(first.id, now: now)
        // Another address is welcome meanwhile, and the bar ends.
        #expect(table.heardFrom(Self.contact(.random(using: &random), "198.51.100.91:20000"), kind: .response, now: now) == .added)
        let later = now + .seconds(601)
        #expect(table.hasRoom(for: second, now: later))
        #expect(table.heardFrom(second, kind: .response, now: later) == .added)
        #expect(table.allContacts.filter { $0.endpoint.address == second.endpoint.address } == [second], "\(table.allContacts)")
        #expect(table.blockCounts == table.recountedBlocks())
    }

    @Test func aFewPerSlash24InTheWholeTableThenNoMore() {
        var random = SplitMix64(seed: 2)
        var table = RoutingTable(ownID: Self.own, configuration: Routing.unenforced)
        let now = Routing.time(0)
        var members: [NodeID] = []
        for host in 1...4 {
            let id = NodeID.random(using: &random)
            members.append(id)
            #expect(table.heardFrom(Self.contact(id, "198.51.100.\(host):6881"), kind: .response, now: now) == .added)
        }
        #expect(table.heardFrom(Self.contact(.random(using: &random), "198.51.100.77:6881"), kind: .response, now: now)
                == .rejected(.prefixFull))
        #expect(table.heardFrom(Self.contact(.random(using: &random), "198.51.101.77:6881"), kind: .response, now: now) == .added)
        // One leaves: the /24 has room again.
        let removed = table.remove(members[0], now: now)
        #expect(removed)
        #expect(table.heardFrom(Self.contact(.random(using: &random), "198.51.100.77:6881"), kind: .response, now: now) == .added)
        #expect(table.blockCounts == table.recountedBlocks())
    }

    @Test func ipv6NodesCountByTheir64() {
        var random = SplitMix64(seed: 3)
        var table = RoutingTable(ownID: Self.own, configuration: .init(enforceNodeIDs: false, maxPerPrefix: 2))
        let now = Routing.time(0)
        #expect(table.heardFrom(Self.contact(.random(using: &random), "[2001:db8:1:2::1]:6881"), kind: .response, now: now) == .added)
        #expect(table.heardFrom(Self.contact(.random(using: &random), "[2001:db8:1:2::2]:6881"), kind: .response, now: now) == .added)
        #expect(table.heardFrom(Self.contact(.random(using: &random), "[2001:db8:1:2:ffff::3]:6881"), kind: .response, now: now)
                == .rejected(.prefixFull))
        #expect(table.heardFrom(Self.contact(.random(using: &random), "[2001:db8:1:3::1]:6881"), kind: .response, now: now) == .added)
    }

    /// Random joins, failures, removals and splits over a small pool of public addresses: the
    /// counts stay in step, no bucket holds two live members at one address, no /24 more than
    /// the limit.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func theRulesHoldThroughRandomChurn(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var table = RoutingTable(ownID: Self.own, configuration: .init(bucketSize: 4, replacementCacheSize: 4, enforceNodeIDs: false, maxPerPrefix: 3))
        var known: [NodeID] = []
        for step in 0..<3000 {
            let now = Routing.time(step)
            switch random.next() % 10 {
            case 0..<6:
                let id = NodeID.random(using: &random)
                let address = "203.0.\(random.next() % 4).\(random.next() % 6):6881"
                table.heardFrom(Self.contact(id, address), kind: random.next() % 2 == 0 ? .response : .query, now: now)
                known.append(id)
            case 6..<8:
                if let id = known.randomElement(using: &random) { table.failed(id, now: now) }
            default:
                if let id = known.randomElement(using: &random) { table.remove(id, now: now) }
            }
        }
        #expect(table.blockCounts == table.recountedBlocks())
        for bucket in table.buckets {
            let addresses = bucket.entries.map(\.endpoint.address)
            #expect(Set(addresses).count == addresses.count, "one member per address per bucket, bad ones included")
        }
        #expect(table.recountedBlocks().values.allSatisfy { $0 <= 3 })
        #expect(table.count > 4)
    }

    @Test func onlyMembersThatAnsweredUsAreHandedOut() {
        var random = SplitMix64(seed: 4)
        var table = RoutingTable(ownID: Self.own, configuration: Routing.unenforced)
        let now = Routing.time(0)
        let answered = Self.contact(.random(using: &random), "203.0.113.1:6881")
        let queried = Self.contact(.random(using: &random), "203.0.113.2:6881")
        table.heardFrom(answered, kind: .response, now: now)
        table.heardFrom(queried, kind: .query, now: now)
        let target = NodeID.random(using: &random)
        #expect(Set(table.closest(to: target, count: 8)) == [answered, queried])
        #expect(table.closest(to: target, count: 8, onlyVerified: true) == [answered])
        let generation = table.generation
        table.heardFrom(queried, kind: .response, now: now)
        #expect(table.generation != generation, "a first answer changes what is handed out")
        #expect(Set(table.closest(to: target, count: 8, onlyVerified: true)) == [answered, queried])
    }
}
