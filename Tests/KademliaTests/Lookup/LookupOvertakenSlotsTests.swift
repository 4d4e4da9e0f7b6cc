// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Testing

/// Overtaken queries free their slots (`spec/0007` §5.9): a waiting query whose peer is no
/// longer among the k closest peers neither failed nor slow stops counting against α.
@Suite("Lookup overtaken slots")
struct LookupOvertakenSlotsTests {
    typealias F = LookupFixture

    /// A lookup of `seeds` toward `.zero` at time zero, α 2, k 2, a fixed 1 s short timeout,
    /// no converged burst (α = k here anyway).
    static func lookup(_ seeds: [UInt64], frees: Bool = true) -> Lookup {
        var configuration = Lookup.Configuration(alpha: 2, k: 2)
        configuration.adaptiveShortTimeoutFloor = nil
        configuration.expectedRoundTripFactor = nil
        configuration.burstsWhenConverged = false
        configuration.overtakenFreeSlots = frees
        return Lookup(target: .zero, ownID: F.own, seeds: seeds.map { F.contact($0) }, configuration: configuration, now: .zero)
    }

    @Test func aQueryToAPeerPushedOutOfTheKClosestFreesItsSlot() {
        var lookup = Self.lookup([40, 50])
        #expect(F.drain(&lookup, now: .zero) == ([40, 50], .waitUntil(F.ms(1_000))))
        // 40 names 10 and 20: the 2 closest are now 10 and 20, and 50, still out, is overtaken.
        lookup.succeeded(F.id(40), closerNodes: [F.contact(10), F.contact(20)], now: F.ms(30))
        #expect(F.drain(&lookup, now: F.ms(30)) == ([10, 20], .waitUntil(F.ms(1_000))))
        #expect(lookup.inFlight == 3 && lookup.outstanding == 3)
        // α still holds among the k closest: both slots are 10's and 20's.
        lookup.succeeded(F.id(10), closerNodes: [F.contact(15)], now: F.ms(60))
        #expect(F.drain(&lookup, now: F.ms(60)) == ([15], .waitUntil(F.ms(1_000))))
    }

    @Test func withoutTheRuleTheOvertakenQueryHoldsItsSlot() {
        var lookup = Self.lookup([40, 50], frees: false)
        _ = F.drain(&lookup, now: .zero)
        lookup.succeeded(F.id(40), closerNodes: [F.contact(10), F.contact(20)], now: F.ms(30))
        #expect(F.drain(&lookup, now: F.ms(30)) == ([10], .waitUntil(F.ms(1_000))))
    }

    @Test func anOvertakenPeersLateReplyStillCounts() {
        var lookup = Self.lookup([40, 50])
        _ = F.drain(&lookup, now: .zero)
        lookup.succeeded(F.id(40), closerNodes: [F.contact(10), F.contact(20)], now: F.ms(30))
        _ = F.drain(&lookup, now: F.ms(30))
        // 50 answers late and names 5, closer than all: it is asked next, once a slot frees.
        #expect(F.accepted(lookup.succeeded(F.id(50), closerNodes: [F.contact(5)], now: F.ms(80))))
        // 50's answer ended the earliest query: the next deadline is 10's and 20's, sent at 30 ms.
        #expect(F.drain(&lookup, now: F.ms(80)) == ([5], .waitUntil(F.ms(1_030))))
        lookup.succeeded(F.id(5), closerNodes: [], now: F.ms(100))
        lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(110))
        #expect(F.drain(&lookup, now: F.ms(110)) == ([], .finished))
        #expect(lookup.result.closest.map(\.id) == [F.id(5), F.id(10)])
    }
}
