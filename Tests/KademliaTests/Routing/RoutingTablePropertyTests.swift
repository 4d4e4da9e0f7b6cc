import Kademlia
import SeededRandom
import Testing

/// Seeded random-operation tests of the routing table's structure and of `closest`.
@Suite("Routing table: properties")
struct RoutingTablePropertyTests {
    /// Runs `steps` random operations — responses, queries, failures, removals, refreshes, time
    /// passing — on a table, checking the structure after each and `closest` against brute force
    /// every few steps.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomOperationsKeepTheInvariants(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let configuration = RoutingTable.Configuration(bucketSize: 4, replacementCacheSize: 3, enforceNodeIDs: false)
        var table = RoutingTable(ownID: .random(using: &random), configuration: configuration)
        var known: [NodeContact] = []
        var seconds = 0
        // A fixed target's answer, and the generation it was computed at: while the generation
        // stays the same, so must the answer (nodes keep their last reply on that promise).
        let watched = NodeID.random(using: &random)
        var watchedAnswer = table.closest(to: watched, count: 6), watchedGeneration = table.generation
        var generationChanges = 0
        for step in 0..<4_000 {
            seconds += Int(random.next() % 40)
            let now = Routing.time(seconds)
            // Mostly ids near ours, so the table grows deep; sometimes a known id again.
            let pick = random.next() % 10
            if pick < 5 || known.isEmpty {
                let depth = Int(random.next() % 24)
                let contact = Routing.contact(Routing.id(near: table.ownID, sharing: depth, using: &random))
                known.append(contact)
                table.heardFrom(contact, kind: random.next() % 3 == 0 ? .query : .response, now: now)
            } else {
                let contact = known[Int(random.next() % UInt64(known.count))]
                switch pick {
                case 5, 6: table.heardFrom(contact, kind: .response, now: now)
                case 7: table.failed(contact.id, now: now)
                case 8:
                    // The same id from elsewhere must never displace the recorded endpoint.
                    let before = table.entry(for: contact.id)?.contact
                    table.heardFrom(Routing.contact(contact.id, port: 9), kind: .response, now: now)
                    if let before { #expect(table.entry(for: contact.id)?.contact == before) }
                default:
                    if random.next() % 4 == 0 { table.remove(contact.id, now: now) }
                    for index in table.bucketsNeedingRefresh(now: now) { table.refreshed(bucket: index, now: now) }
                }
            }
            let answer = table.closest(to: watched, count: 6)
            if table.generation == watchedGeneration {
                #expect(answer == watchedAnswer, "step \(step): the answer changed, the generation did not")
            } else {
                generationChanges += 1
            }
            watchedAnswer = answer
            watchedGeneration = table.generation
            let problem = Routing.violation(in: table)
            #expect(problem == nil, "step \(step)")
            if problem != nil { return }
            if step % 25 == 0 {
                let target = random.next() % 2 == 0 ? NodeID.random(using: &random) : known[Int(random.next() % UInt64(known.count))].id
                for count in [1, 4, 9, 1_000] {
                    #expect(table.closest(to: target, count: count) == Routing.bruteForceClosest(table, to: target, count: count))
                    #expect(table.closest(to: target, count: count, onlyGoodAt: now)
                        == Routing.bruteForceClosest(table, to: target, count: count, goodAt: now))
                }
            }
        }
        #expect(table.buckets.count > 10)  // the walk really did split deep
        #expect(generationChanges > 100 && generationChanges < 3_000)  // it changes, but not on every step
    }

    @Test func closestMatchesBruteForceOnALargeTable() {
        var random = SplitMix64(seed: 99)
        var table = RoutingTable(ownID: .random(using: &random), configuration: Routing.unenforced)
        for _ in 0..<20_000 {
            table.heardFrom(Routing.contact(.random(using: &random)), kind: .response, now: Routing.time(0))
        }
        let own = table.ownID
        let targets = (0..<300).map { index in
            index % 3 == 0 ? own.randomID(sharingPrefix: index % 40, using: &random) : NodeID.random(using: &random)
        } + [own, own ^ NodeID.mask(leadingBits: 160)]
        for target in targets {
            #expect(table.closest(to: target, count: 8) == Routing.bruteForceClosest(table, to: target, count: 8))
        }
        // The whole table in order: the buckets are walked nearest first, each range before the
        // next, whatever bits the target shares with our id.
        for target in targets.prefix(40) {
            #expect(table.closest(to: target, count: table.count) == Routing.bruteForceClosest(table, to: target, count: table.count))
        }
        #expect(table.closest(to: own, count: 0).isEmpty)
    }

    /// 256 ids, one for each value of the first byte, the rest random: bucket `i` (ids sharing
    /// exactly `i` bits with ours) receives 2^(7-i) of them, so buckets 0–4 overflow and fill to
    /// k = 8 and the last bucket (depth 5) ends up holding exactly the 8 ids sharing our first five
    /// bits. libtorrent's routing table test expects the same five full levels.
    @Test func evenlySpreadIDsFillFiveLevels() throws {
        var random = SplitMix64(seed: 5)
        let own = NodeID.random(using: &random)
        var table = RoutingTable(ownID: own, configuration: Routing.unenforced)
        for byte in (0..<256).shuffled(using: &random) {
            var id = NodeID.random(using: &random)
            id.high = id.high & 0x00FF_FFFF_FFFF_FFFF | UInt64(byte) << 56
            if id == own { continue }
            table.heardFrom(Routing.contact(id), kind: .response, now: .zero)
        }
        #expect(table.buckets.count == 6)
        #expect(table.buckets.map(\.entries.count) == [8, 8, 8, 8, 8, 8])
        #expect(table.count == 48)
    }

    /// With N uniformly random nodes, bucket `i` expects N / 2^(i+1) of them, so the table should
    /// end about log2(N / k) buckets deep.
    @Test(arguments: [(500, 11), (5_000, 12), (50_000, 13)] as [(Int, UInt64)])
    func depthGrowsAsLogOfNetworkSize(nodes: Int, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var table = RoutingTable(ownID: .random(using: &random), configuration: Routing.unenforced)
        for _ in 0..<nodes {
            table.heardFrom(Routing.contact(.random(using: &random)), kind: .response, now: .zero)
        }
        let log = Int((Double(nodes) / 8).exponent)  // ⌊log2(N / k)⌋
        #expect((log - 1...log + 3).contains(table.buckets.count), "\(table.buckets.count) buckets for \(nodes) nodes")
        // Every bucket but the last few is full.
        #expect(table.buckets.prefix(log - 2).allSatisfy { $0.entries.count == 8 })
    }
}
