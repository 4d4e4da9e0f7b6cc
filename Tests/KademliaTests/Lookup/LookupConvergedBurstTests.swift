// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Testing

/// The converged burst (`spec/0007` §5.8): once a peer among the k closest answers without
/// naming anyone new closer than the k-th, the lookup may have k queries waiting instead of α.
@Suite("Lookup converged burst")
struct LookupConvergedBurstTests {
    typealias F = LookupFixture

    /// A lookup of `seeds` toward `.zero` at time zero, k 4, a fixed 1 s short timeout.
    static func lookup(_ seeds: [UInt64], alpha: Int = 1, bursts: Bool = true) -> Lookup {
        var configuration = Lookup.Configuration(alpha: alpha, k: 4)
        configuration.adaptiveShortTimeoutFloor = nil
        configuration.expectedRoundTripFactor = nil
        configuration.burstsWhenConverged = bursts
        configuration.overtakenFreeSlots = false  // the burst alone
        return Lookup(target: .zero, ownID: F.own, seeds: seeds.map { F.contact($0) }, configuration: configuration, now: .zero)
    }

    @Test func aReplyNamingNoOneCloserLetsTheRestOfTheKClosestGoAtOnce() {
        var lookup = Self.lookup([10, 20, 30, 40, 50])
        #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))))
        // 10 is among the 4 closest and names only peers already known: converged.
        #expect(F.accepted(lookup.succeeded(F.id(10), closerNodes: [F.contact(20), F.contact(30)], now: F.ms(50))))
        #expect(F.drain(&lookup, now: F.ms(50)) == ([20, 30, 40], .waitUntil(F.ms(1_050))))
        #expect(lookup.inFlight == 3)
    }

    @Test func withoutTheBurstAlphaHolds() {
        var lookup = Self.lookup([10, 20, 30, 40, 50], bursts: false)
        _ = F.drain(&lookup, now: .zero)
        lookup.succeeded(F.id(10), closerNodes: [F.contact(20), F.contact(30)], now: F.ms(50))
        #expect(F.drain(&lookup, now: F.ms(50)) == ([20], .waitUntil(F.ms(1_050))))
    }

    @Test func aReplyNamingSomeoneNewAndCloserDoesNotConverge() {
        var lookup = Self.lookup([10, 20, 30, 40, 50])
        _ = F.drain(&lookup, now: .zero)
        // 5 is new and closer than the 4th closest (40): the lookup is still descending.
        lookup.succeeded(F.id(10), closerNodes: [F.contact(5)], now: F.ms(50))
        #expect(F.drain(&lookup, now: F.ms(50)) == ([5], .waitUntil(F.ms(1_050))))
        // A new peer beyond the 4th closest changes nothing among them: now it converges.
        lookup.succeeded(F.id(5), closerNodes: [F.contact(45)], now: F.ms(80))
        #expect(F.drain(&lookup, now: F.ms(80)) == ([20, 30], .waitUntil(F.ms(1_080))))
    }

    @Test func aReplyFromBeyondTheKClosestDoesNotConverge() {
        var lookup = Self.lookup([50, 60], alpha: 2)
        #expect(F.drain(&lookup, now: .zero) == ([50, 60], .waitUntil(F.ms(1_000))))
        lookup.succeeded(F.id(50), closerNodes: [F.contact(1), F.contact(2), F.contact(3), F.contact(4)], now: F.ms(40))
        #expect(F.drain(&lookup, now: F.ms(40)) == ([1], .waitUntil(F.ms(1_000))))
        // 60 is now 6th closest: its empty reply says nothing about the end, and α still holds.
        lookup.succeeded(F.id(60), closerNodes: [], now: F.ms(50))
        #expect(F.drain(&lookup, now: F.ms(50)) == ([2], .waitUntil(F.ms(1_040))))
        // 1 is among the 4 closest and names no one: the last two go out together.
        lookup.succeeded(F.id(1), closerNodes: [], now: F.ms(60))
        #expect(F.drain(&lookup, now: F.ms(60)) == ([3, 4], .waitUntil(F.ms(1_050))))
    }
}
