import Kademlia
import SeededRandom
import Testing

/// Exact outcomes of the routing table's state machine (BEP 5 "Routing Table").
@Suite("Routing table: node states and replacement")
struct RoutingTableTests {
    /// A table whose bucket 0 (ids differing from ours in the first bit) is full with eight nodes
    /// that answered at t0+0s … t0+7s, and cannot split. Returns the table and the eight contacts.
    static func fullFarBucket(seed: UInt64, configuration: RoutingTable.Configuration = Routing.unenforced)
        -> (RoutingTable, [NodeContact], SplitMix64)
    {
        var random = SplitMix64(seed: seed)
        let own = NodeID.random(using: &random)
        var table = RoutingTable(ownID: own, configuration: configuration, now: Routing.time(0))
        var far: [NodeContact] = []
        for second in 0..<8 {
            let contact = Routing.contact(Routing.id(near: own, sharing: 0, using: &random))
            let outcome1 = table.heardFrom(contact, kind: .response, now: Routing.time(second))
            #expect(outcome1 == .added)
            far.append(contact)
        }
        // One near node forces the split, so the far bucket no longer covers our id.
        let near = Routing.contact(Routing.id(near: own, sharing: 3, using: &random))
        let outcome2 = table.heardFrom(near, kind: .response, now: Routing.time(8))
        #expect(outcome2 == .added)
        #expect(table.buckets.count >= 2 && table.buckets[0].entries.count == 8)
        return (table, far, random)
    }

    @Test func questionableNodeIsPingedThenReplacedWhenThePingFails() throws {
        var (table, far, random) = Self.fullFarBucket(seed: 1)
        let later = Routing.fifteenMinutes + 100
        #expect(table.state(of: far[0].id, now: Routing.time(later)) == .questionable)
        let newcomer = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        // far[0] answered first, so it is the least recently seen.
        let outcome3 = table.heardFrom(newcomer, kind: .response, now: Routing.time(later))
        #expect(outcome3 == .pending(pingThis: far[0]))
        #expect(!table.contains(newcomer.id))
        #expect(table.buckets[0].replacements.map(\.contact) == [newcomer])
        let outcome4 = table.failed(far[0].id, now: Routing.time(later + 5))
        #expect(outcome4 == .replaced(promoted: newcomer))
        #expect(table.contains(newcomer.id) && !table.contains(far[0].id))
        #expect(table.buckets[0].replacements.isEmpty && table.count == 9)
        #expect(table.state(of: newcomer.id, now: Routing.time(later + 5)) == .good)
    }

    @Test func aPingAnsweredMovesOnToTheNextQuestionableNode() {
        var (table, far, random) = Self.fullFarBucket(seed: 2)
        let later = Routing.fifteenMinutes + 100
        let newcomer = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let outcome5 = table.heardFrom(newcomer, kind: .response, now: Routing.time(later))
        #expect(outcome5 == .pending(pingThis: far[0]))
        // A second newcomer does not trigger a second ping while one is outstanding.
        let second = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let outcome6 = table.heardFrom(second, kind: .response, now: Routing.time(later + 1))
        #expect(outcome6 == .replacementCached)
        let outcome7 = table.heardFrom(far[0], kind: .response, now: Routing.time(later + 2))
        #expect(outcome7 == .pending(pingThis: far[1]))
        #expect(table.state(of: far[0].id, now: Routing.time(later + 2)) == .good)
        // The most recent candidate that answered us is promoted.
        let outcome8 = table.failed(far[1].id, now: Routing.time(later + 3))
        #expect(outcome8 == .replaced(promoted: second))
        #expect(table.buckets[0].replacements.map(\.contact) == [newcomer])
    }

    @Test func anUnansweredPingIsAskedAgainAfterThePingTimeout() {
        var (table, far, random) = Self.fullFarBucket(seed: 3)
        let later = Routing.fifteenMinutes + 100
        let a = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let b = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let outcome9 = table.heardFrom(a, kind: .response, now: Routing.time(later))
        #expect(outcome9 == .pending(pingThis: far[0]))
        let outcome10 = table.heardFrom(b, kind: .response, now: Routing.time(later + 59))
        #expect(outcome10 == .replacementCached)
        let outcome11 = table.heardFrom(b, kind: .response, now: Routing.time(later + 60))
        #expect(outcome11 == .pending(pingThis: far[0]))
    }

    @Test func aBadNodeIsReplacedAtOnce() {
        var (table, far, random) = Self.fullFarBucket(seed: 4)
        let now = Routing.time(20)
        let outcome12 = table.failed(far[3].id, now: now)
        #expect(outcome12 == .recorded)
        #expect(table.state(of: far[3].id, now: now) == .good)
        let outcome13 = table.failed(far[3].id, now: now)
        #expect(outcome13 == .recorded)
        #expect(table.state(of: far[3].id, now: now) == .bad)
        #expect(!table.closest(to: far[3].id, count: 50).contains(far[3]))
        let newcomer = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let outcome14 = table.heardFrom(newcomer, kind: .query, now: now)
        #expect(outcome14 == .added)
        #expect(table.contains(newcomer.id) && !table.contains(far[3].id))
        #expect(table.buckets[0].entries.count == 8)
    }

    @Test func aNodeGoingBadIsReplacedByAWaitingCandidate() {
        var (table, far, random) = Self.fullFarBucket(seed: 5)
        let newcomer = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let outcome15 = table.heardFrom(newcomer, kind: .response, now: Routing.time(20))
        #expect(outcome15 == .replacementCached)
        let outcome16 = table.failed(far[5].id, now: Routing.time(21))
        #expect(outcome16 == .recorded)
        let outcome17 = table.failed(far[5].id, now: Routing.time(22))
        #expect(outcome17 == .replaced(promoted: newcomer))
        let outcome18 = table.failed(far[5].id, now: Routing.time(23))
        #expect(outcome18 == .unknown)
    }

    @Test func aResponseResetsTheFailureCount() {
        var (table, far, _) = Self.fullFarBucket(seed: 6)
        let outcome19 = table.failed(far[2].id, now: Routing.time(20))
        #expect(outcome19 == .recorded)
        let outcome20 = table.heardFrom(far[2], kind: .response, now: Routing.time(21))
        #expect(outcome20 == .updated)
        let outcome21 = table.failed(far[2].id, now: Routing.time(22))
        #expect(outcome21 == .recorded)
        #expect(table.state(of: far[2].id, now: Routing.time(22)) == .good)
    }

    @Test func aQueryOnlyNewcomerNeverTriggersAPing() {
        var (table, _, random) = Self.fullFarBucket(seed: 7)
        let later = Routing.fifteenMinutes + 100
        let newcomer = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let outcome22 = table.heardFrom(newcomer, kind: .query, now: Routing.time(later))
        #expect(outcome22 == .replacementCached)
        #expect(table.buckets[0].pingRequestedAt == nil)
    }

    @Test func anEndpointChangeIsRefused() throws {
        var (table, far, _) = Self.fullFarBucket(seed: 8)
        let moved = NodeContact(id: far[4].id, endpoint: Endpoint(address: .v4(0x0808_0808), port: 6881))
        let outcome23 = table.heardFrom(moved, kind: .response, now: Routing.time(30))
        #expect(outcome23 == .rejected(.endpointMismatch))
        #expect(table.entry(for: far[4].id)?.contact == far[4])
        let entry = try #require(table.entry(for: far[4].id))
        #expect(entry.lastResponse == Routing.time(4))  // the forged packet changed nothing
    }

    @Test func unusableContactsAreRejected() {
        var random = SplitMix64(seed: 9)
        let own = NodeID.random(using: &random)
        var table = RoutingTable(ownID: own, configuration: Routing.unenforced)
        let outcome24 = table.heardFrom(Routing.contact(own), kind: .response, now: .zero)
        #expect(outcome24 == .rejected(.ownID))
        let other = NodeID.random(using: &random)
        let outcome25 = table.heardFrom(Routing.contact(other, port: 0), kind: .response, now: .zero)
        #expect(outcome25 == .rejected(.unusableEndpoint))
        let nowhere = NodeContact(id: other, endpoint: Endpoint(address: .v4(0), port: 1))
        let outcome26 = table.heardFrom(nowhere, kind: .response, now: .zero)
        #expect(outcome26 == .rejected(.unusableEndpoint))
        #expect(table.count == 0)
    }

    @Test func enforcementRefusesNonCompliantIDsByDefault() {
        var random = SplitMix64(seed: 10)
        var table = RoutingTable(ownID: .random(using: &random))
        let address = Endpoint.Address.v4(0x7C1F_4B15)  // 124.31.75.21
        let good = NodeIDSecurity.makeID(for: address, using: &random)
        let bad = good ^ NodeID.mask(leadingBits: 1)
        let outcome27 = table.heardFrom(NodeContact(id: bad, endpoint: Endpoint(address: address, port: 1)), kind: .response, now: .zero)
        #expect(outcome27 == .rejected(.nonCompliantID))
        let outcome28 = table.heardFrom(NodeContact(id: good, endpoint: Endpoint(address: address, port: 1)), kind: .response, now: .zero)
        #expect(outcome28 == .added)
        let local = NodeContact(id: bad, endpoint: Endpoint(address: .v4(0xC0A8_0001), port: 1))
        #expect(table.heardFrom(local, kind: .response, now: .zero) == .added)  // 192.168/16 is exempt
    }

    @Test func aTableRekeyedToANewIDKeepsItsContactsByTheirNewDistance() {
        var random = SplitMix64(seed: 12)
        var table = RoutingTable(ownID: .random(using: &random), configuration: Routing.unenforced)
        for index in 0..<300 {
            let contact = NodeContact(id: .random(using: &random), endpoint: Endpoint(address: .v4(0x0A00_0000 | UInt32(index)), port: 6881))
            table.heardFrom(contact, kind: index % 3 == 0 ? .query : .response, now: Routing.time(index))
        }
        let newID = NodeID.random(using: &random)
        let rekeyed = table.rekeyed(to: newID, now: Routing.time(400))
        #expect(rekeyed.ownID == newID)
        let before = Set(table.allContacts.map(\.id)), after = Set(rekeyed.allContacts.map(\.id))
        let candidates = Set(rekeyed.buckets.flatMap(\.replacements).map(\.id))
        #expect(after.isSubset(of: before.union(table.buckets.flatMap(\.replacements).map(\.id))))
        #expect(before.isSubset(of: after.union(candidates)), "a member that no longer fits waits as a candidate")
        for bucket in rekeyed.buckets {
            for entry in bucket.entries {
                #expect(bucket.covers(entry.id))
                let old = table.entry(for: entry.id)
                #expect(old == nil || (old?.lastResponse == entry.lastResponse && old?.failures == entry.failures), "times and failures are kept")
            }
        }
        // The buckets now tile the space around the new id: the nearest members are the new id's.
        let nearest = rekeyed.closest(to: newID, count: 8).map(\.id)
        let expected = Array(after.sorted { ($0 ^ newID) < ($1 ^ newID) }.prefix(8))
        #expect(nearest == expected)
    }

    @Test func nodeStatesFollowBEP5() {
        var random = SplitMix64(seed: 11)
        var table = RoutingTable(ownID: .random(using: &random), configuration: Routing.unenforced)
        let responder = Routing.contact(.random(using: &random)), querier = Routing.contact(.random(using: &random))
        table.heardFrom(responder, kind: .response, now: Routing.time(0))
        table.heardFrom(querier, kind: .query, now: Routing.time(0))
        let quiet = Routing.fifteenMinutes
        #expect(table.state(of: responder.id, now: Routing.time(quiet - 1)) == .good)
        #expect(table.state(of: responder.id, now: Routing.time(quiet)) == .questionable)
        #expect(table.state(of: querier.id, now: Routing.time(0)) == .questionable)  // never answered us
        // Having answered once, a recent query keeps it good.
        table.heardFrom(responder, kind: .query, now: Routing.time(quiet + 10))
        #expect(table.state(of: responder.id, now: Routing.time(quiet + 20)) == .good)
        #expect(table.closest(to: responder.id, count: 8, onlyGoodAt: Routing.time(quiet + 20)) == [responder])
        #expect(table.closest(to: responder.id, count: 8).count == 2)
    }

    @Test func theReplacementCacheKeepsTheMostRecentCandidates() {
        var (table, _, random) = Self.fullFarBucket(seed: 12)
        var newcomers: [NodeContact] = []
        for second in 0..<11 {
            let newcomer = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
            let outcome29 = table.heardFrom(newcomer, kind: .response, now: Routing.time(20 + second))
            #expect(outcome29 == .replacementCached)
            newcomers.append(newcomer)
        }
        #expect(table.buckets[0].replacements.map(\.contact) == Array(newcomers.suffix(8)))
        // Heard again, a candidate becomes the most recent one.
        table.heardFrom(newcomers[4], kind: .query, now: Routing.time(40))
        #expect(table.buckets[0].replacements.last?.contact == newcomers[4])
        #expect(table.buckets[0].replacements.count == 8)
    }

    @Test func removeFreesTheSlotOrPromotesACandidate() {
        var (table, far, random) = Self.fullFarBucket(seed: 13)
        let outcome30 = table.remove(far[0].id, now: Routing.time(30))
        #expect(outcome30)
        let outcome31 = table.remove(far[0].id, now: Routing.time(30))
        #expect(!outcome31)
        #expect(table.count == 8)
        let a = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let b = Routing.contact(Routing.id(near: table.ownID, sharing: 0, using: &random))
        let outcome32 = table.heardFrom(a, kind: .response, now: Routing.time(30))
        #expect(outcome32 == .added)
        let outcome33 = table.heardFrom(b, kind: .response, now: Routing.time(31))
        #expect(outcome33 == .replacementCached)
        let outcome34 = table.remove(far[1].id, now: Routing.time(30))
        #expect(outcome34)
        #expect(table.contains(b.id) && table.count == 9)
    }

    @Test func staleBucketsAreRefreshedWithATargetInTheirRange() {
        var (table, _, random) = Self.fullFarBucket(seed: 14)
        #expect(table.bucketsNeedingRefresh(now: Routing.time(60)).isEmpty)
        let stale = table.bucketsNeedingRefresh(now: Routing.time(Routing.fifteenMinutes + 8))
        #expect(stale == Array(table.buckets.indices))
        for index in stale {
            for _ in 0..<20 {
                #expect(table.buckets[index].covers(table.refreshTarget(forBucket: index, using: &random)))
            }
            table.refreshed(bucket: index, now: Routing.time(Routing.fifteenMinutes + 8))
        }
        #expect(table.bucketsNeedingRefresh(now: Routing.time(Routing.fifteenMinutes + 9)).isEmpty)
    }
}
