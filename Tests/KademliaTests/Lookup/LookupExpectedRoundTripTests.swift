// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Testing

/// Per-peer slow marks from expected round trips (`spec/0007` §9.2.4): a peer the driver expects
/// at `r` turns slow after 1.25 r + 20 ms instead of after the lookup's own short timeout.
@Suite("Lookup expected round trips")
struct LookupExpectedRoundTripTests {
    typealias F = LookupFixture

    /// A lookup of `seeds` toward `.zero` at time zero, a fixed 1 s short timeout and no resends,
    /// so that only the per-peer marks move the steps.
    static func lookup(_ seeds: [UInt64], expected: [Duration?], k: Int = 2, alpha: Int = 3,
                       factor: Double? = 1.25) -> Lookup {
        var configuration = Lookup.Configuration(alpha: alpha, k: k)
        configuration.adaptiveShortTimeoutFloor = nil
        configuration.resendsToSlowPeers = false
        configuration.expectedRoundTripFactor = factor
        return Lookup(target: .zero, ownID: F.own, seeds: seeds.map { F.contact($0) }, expectedRoundTrips: expected,
                      configuration: configuration, now: .zero)
    }

    @Test func aNearbyPeerTurnsSlowAtItsOwnMark() {
        // 10 is expected at 40 ms: slow at 70 ms, which frees its slot for 40 at once.
        var lookup = Self.lookup([10, 20, 30, 40], expected: [.milliseconds(40), nil, nil, nil], k: 8)
        #expect(F.drain(&lookup, now: .zero) == ([10, 20, 30], .waitUntil(F.ms(70))))
        #expect(F.drain(&lookup, now: F.ms(70)) == ([40], .waitUntil(F.ms(1_000))))
        #expect(lookup.inFlight == 3 && lookup.outstanding == 4)
    }

    @Test func aFarPeerIsWaitedForPastTheLookupsOwnMark() {
        // With the adaptive short timeout, 20's answer after 100 ms sets the lookup's mark at
        // 100 + 3 × 50 = 250 ms; 10 is expected at 600 ms, so it is waited for until 770 ms.
        func start(factor: Double?) -> Lookup {
            var configuration = Lookup.Configuration(alpha: 3, k: 2)
            configuration.resendsToSlowPeers = false
            configuration.expectedRoundTripFactor = factor
            return Lookup(target: .zero, ownID: F.own, seeds: [F.contact(10), F.contact(20)],
                          expectedRoundTrips: [.milliseconds(600), nil], configuration: configuration, now: .zero)
        }
        var lookup = start(factor: 1.25)
        #expect(F.drain(&lookup, now: .zero) == ([10, 20], .waitUntil(F.ms(770))))
        #expect(F.accepted(lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(100))))
        #expect(lookup.next(now: F.ms(300)) == .waitUntil(F.ms(770)))
        #expect(F.accepted(lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(700))))
        #expect(lookup.next(now: F.ms(700)) == .finished)
        #expect(lookup.result.closest == [10, 20].map { F.contact($0) })
        #expect(lookup.result.slowed == 0)

        // Without per-peer marks the same peer turns slow at 250 ms and the lookup ends without it.
        var plain = start(factor: nil)
        _ = F.drain(&plain, now: .zero)
        plain.succeeded(F.id(20), closerNodes: [], now: F.ms(100))
        #expect(plain.next(now: F.ms(300)) == .finished)
        #expect(plain.result.closest == [F.contact(20)])
    }

    @Test func contactsFromARepliesCarryTheirExpectations() {
        var lookup = Self.lookup([50], expected: [], k: 1, alpha: 1)
        #expect(F.drain(&lookup, now: .zero) == ([50], .waitUntil(F.ms(1_000))))
        let closer = [F.contact(5), F.contact(7)]
        #expect(F.accepted(lookup.succeeded(F.id(50), closerNodes: closer, expectedRoundTrips: [.milliseconds(80), nil],
                                            now: F.ms(100))))
        // 5 is expected at 80 ms: slow at 100 + 120 ms, then 7 goes out and follows the 1 s mark.
        #expect(F.drain(&lookup, now: F.ms(100)) == ([5], .waitUntil(F.ms(220))))
        #expect(F.drain(&lookup, now: F.ms(220)) == ([7], .waitUntil(F.ms(1_220))))
    }

    @Test func aMarkNeverPassesTheShortTimeoutsCeiling() {
        // Expected at 30 s (a far coordinate anyone may hand out): slow at the 1 s ceiling all
        // the same, which frees its slot for 20.
        var lookup = Self.lookup([10, 20], expected: [.seconds(30), nil], k: 2, alpha: 1)
        #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))))
        #expect(F.drain(&lookup, now: F.ms(1_000)) == ([20], .waitUntil(F.ms(2_000))))
    }

    @Test func aPeerNamedAgainKeepsItsLongestExpectation() {
        // 50 names 5 at 40 ms, 60 at 200 ms and 70 at 10 ms: asked at 100 ms, 5 turns slow at
        // 100 + 1.25 × 200 + 20 = 370 ms, not at 170 ms. Each namer's coordinate may be stale
        // its own way, and the shortest passed live peers over (`spec/0007` §9.2.7).
        var lookup = Self.lookup([50, 60, 70], expected: [], k: 3, alpha: 3)
        #expect(F.drain(&lookup, now: .zero) == ([50, 60, 70], .waitUntil(F.ms(1_000))))
        #expect(F.accepted(lookup.succeeded(F.id(50), closerNodes: [F.contact(5)], expectedRoundTrips: [.milliseconds(40)], now: F.ms(100))))
        #expect(F.drain(&lookup, now: F.ms(100)) == ([5], .waitUntil(F.ms(170))))
        #expect(F.accepted(lookup.succeeded(F.id(60), closerNodes: [F.contact(5)], expectedRoundTrips: [.milliseconds(200)], now: F.ms(110))))
        #expect(F.accepted(lookup.succeeded(F.id(70), closerNodes: [F.contact(5)], expectedRoundTrips: [.milliseconds(10)], now: F.ms(120))))
        #expect(lookup.next(now: F.ms(200)) == .waitUntil(F.ms(370)))
        #expect(F.accepted(lookup.succeeded(F.id(5), closerNodes: [], now: F.ms(300))))
        #expect(lookup.next(now: F.ms(300)) == .finished)
        #expect(lookup.result.closest == [5, 50, 60].map { F.contact($0) } && lookup.result.slowed == 0)
    }
}
