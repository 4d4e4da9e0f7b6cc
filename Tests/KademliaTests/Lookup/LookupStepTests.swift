// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Testing

/// Exact-step tests: feed inputs, expect the exact steps. Target `.zero`, so `id(n)` sorts by n.
@Suite("Lookup steps")
struct LookupStepTests {
    typealias F = LookupFixture

    /// A lookup with the classic rules (a fixed short timeout, slow peers hold up the end, no
    /// resends) unless `refined`: most tests pin those mechanics; the refinements have their own.
    /// A lookup of `seeds`, by default with the paper's α of 3 (the node's is 4), which the
    /// step-by-step expectations below are written for.
    static func lookup(_ seeds: [UInt64], _ configuration: Lookup.Configuration = .init(alpha: 3),
                       now: Timestamp = F.ms(10_000), refined: Bool = false) -> Lookup {
        var configuration = configuration
        if !refined {
            configuration.slowHoldsTermination = true
            configuration.adaptiveShortTimeoutFloor = nil
            configuration.resendsToSlowPeers = false
            configuration.burstsWhenConverged = false
            configuration.overtakenFreeSlots = false
        }
        return Lookup(target: .zero, ownID: F.own, seeds: seeds.map { F.contact($0) }, configuration: configuration, now: now)
    }

    @Test func firstRoundQueriesTheAlphaClosestThenWaitsForTheShortTimeout() {
        var lookup = Self.lookup([50, 10, 40, 20, 30])
        let (queries, last) = F.drain(&lookup, now: F.ms(10_000))
        #expect(queries == [10, 20, 30])
        #expect(last == .waitUntil(F.ms(11_000)))
        #expect(lookup.inFlight == 3)
        #expect(lookup.outstanding == 3)
        // Calling again before anything happens changes nothing.
        #expect(lookup.next(now: F.ms(10_500)) == .waitUntil(F.ms(11_000)))
    }

    @Test func aCloserReplyIsQueriedNext() {
        var lookup = Self.lookup([50, 10, 40, 20, 30])
        _ = F.drain(&lookup, now: F.ms(10_000))
        let closer = [5, 15, 7, 10, 20].map { F.contact($0) } + [F.contact(F.own)]
        #expect(F.accepted(lookup.succeeded(F.id(20), closerNodes: closer, now: F.ms(10_200))))
        var (queries, last) = F.drain(&lookup, now: F.ms(10_200))
        #expect(queries == [5])
        #expect(last == .waitUntil(F.ms(11_000)))
        #expect(lookup.hop(of: F.id(5)) == 1)
        #expect(lookup.hop(of: F.id(20)) == 0)
        #expect(lookup.hop(of: F.own) == nil)
        #expect(F.accepted(lookup.succeeded(F.id(5), closerNodes: [F.contact(1), F.contact(6)], now: F.ms(10_300))))
        (queries, last) = F.drain(&lookup, now: F.ms(10_300))
        #expect(queries == [1])
        #expect(last == .waitUntil(F.ms(11_000)))
        #expect(lookup.hop(of: F.id(1)) == 2)
    }

    @Test func aSlowPeerFreesItsSlotAfterTheShortTimeout() {
        var lookup = Self.lookup([50, 10, 40, 20, 30])
        _ = F.drain(&lookup, now: F.ms(10_000))
        let (queries, last) = F.drain(&lookup, now: F.ms(11_000))
        #expect(queries == [40, 50])
        #expect(last == .waitUntil(F.ms(12_000)))
        #expect(lookup.inFlight == 2)
        #expect(lookup.outstanding == 5)
        // A slow peer's late reply still counts.
        #expect(F.accepted(lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(11_500))))
        #expect(lookup.outstanding == 4)
        #expect(lookup.result.closest == [F.contact(10)])
    }

    @Test func afterTheFullTimeoutThePeerIsFailed() {
        var lookup = Self.lookup([10], now: .zero)
        #expect(lookup.next(now: .zero) == .query(F.contact(10)))
        #expect(lookup.next(now: .zero) == .waitUntil(F.ms(1_000)))
        #expect(lookup.next(now: F.ms(1_000)) == .waitUntil(F.ms(5_000)))
        #expect(lookup.inFlight == 0)
        #expect(lookup.outstanding == 1)
        #expect(lookup.next(now: F.ms(4_999)) == .waitUntil(F.ms(5_000)))
        #expect(lookup.next(now: F.ms(5_000)) == .finished)
        #expect(lookup.isFinished)
        var expected = LookupResult(closest: [], queried: 1, responded: 0, failed: 1, hops: 0, duration: .seconds(5))
        expected.slowed = 1
        expected.unanswered = [F.id(10)]
        #expect(lookup.result == expected)
        #expect(!F.accepted(lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(5_001))))
        #expect(lookup.next(now: F.ms(6_000)) == .finished)
    }

    @Test func finishesOnceTheKClosestHaveAnswered() {
        var lookup = Self.lookup([50, 10, 40, 20, 30], .init(k: 3), now: .zero)
        #expect(F.drain(&lookup, now: .zero).queries == [10, 20, 30])
        for n: UInt64 in [30, 10] { let accepted = lookup.succeeded(F.id(n), closerNodes: [], now: F.ms(50)); #expect(accepted) }
        #expect(lookup.next(now: F.ms(50)) == .waitUntil(F.ms(1_000)))
        #expect(F.accepted(lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(100))))
        #expect(lookup.next(now: F.ms(100)) == .finished)
        let expected = LookupResult(closest: [10, 20, 30].map { F.contact($0) }, queried: 3, responded: 3, failed: 0,
                                    hops: 0, duration: .milliseconds(100))
        #expect(lookup.result == expected)
    }

    /// The result names the peers it asked that had not answered and are closer than its
    /// farthest peer: a slow one passed over, not one beyond the result.
    @Test func theResultNamesTheCloserPeersThatDidNotAnswer() {
        var lookup = Self.lookup([10, 20, 30, 40], .init(alpha: 4, k: 2), now: .zero, refined: true)
        #expect(F.drain(&lookup, now: .zero).queries == [10, 20])
        lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(100))
        #expect(F.drain(&lookup, now: F.ms(1_000)).queries == [10, 30], "10 turned slow: resent, and 30 asked")
        lookup.succeeded(F.id(30), closerNodes: [], now: F.ms(1_100))
        #expect(lookup.next(now: F.ms(1_100)) == .finished)
        #expect(lookup.result.closest == [20, 30].map { F.contact($0) })
        #expect(lookup.result.unanswered == [F.id(10)])
    }

    @Test func aFailedPeerIsReplacedByTheNextClosest() {
        var lookup = Self.lookup([50, 10, 40, 20, 30], .init(k: 3), now: .zero)
        _ = F.drain(&lookup, now: .zero)
        #expect(F.accepted(lookup.failed(F.id(20), now: F.ms(100))))
        var (queries, last) = F.drain(&lookup, now: F.ms(100))
        #expect(queries == [40])
        #expect(last == .waitUntil(F.ms(1_000)))
        for n: UInt64 in [10, 30] { lookup.succeeded(F.id(n), closerNodes: [], now: F.ms(200)) }
        (queries, last) = F.drain(&lookup, now: F.ms(200))
        #expect(queries == [])
        #expect(last == .waitUntil(F.ms(1_100)))
        lookup.succeeded(F.id(40), closerNodes: [], now: F.ms(300))
        #expect(lookup.next(now: F.ms(300)) == .finished)
        #expect(lookup.result.closest == [10, 30, 40].map { F.contact($0) })
        #expect(lookup.result.failed == 1)
        #expect(lookup.result.queried == 4)
    }

    @Test func aSlowPeerAmongTheKClosestHoldsUpTermination() {
        func start() -> Lookup {
            var lookup = Self.lookup([10, 20, 30], .init(alpha: 1, k: 2), now: .zero)
            #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))))
            #expect(F.drain(&lookup, now: F.ms(1_000)) == ([20], .waitUntil(F.ms(2_000))))
            lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(1_500))
            #expect(F.drain(&lookup, now: F.ms(1_500)) == ([30], .waitUntil(F.ms(2_500))))
            lookup.succeeded(F.id(30), closerNodes: [], now: F.ms(1_600))
            #expect(F.drain(&lookup, now: F.ms(1_600)) == ([], .waitUntil(F.ms(5_000))))
            return lookup
        }
        var answers = start()
        answers.succeeded(F.id(10), closerNodes: [], now: F.ms(2_000))
        #expect(answers.next(now: F.ms(2_000)) == .finished)
        #expect(answers.result.closest == [10, 20].map { F.contact($0) })

        var timesOut = start()
        #expect(timesOut.next(now: F.ms(5_000)) == .finished)
        #expect(timesOut.result.closest == [20, 30].map { F.contact($0) })
        #expect(timesOut.result.failed == 1)
    }

    /// The node's default (spec 0007 §4): once the k closest peers neither failed nor slow
    /// have answered, a slow one no longer holds up the end; had it answered in time, it would
    /// have counted.
    @Test func aSlowPeerNoLongerHoldsUpTheEndByDefault() {
        var configuration = Lookup.Configuration(alpha: 1, k: 2)
        configuration.adaptiveShortTimeoutFloor = nil
        configuration.resendsToSlowPeers = false
        var lookup = Self.lookup([10, 20, 30], configuration, now: .zero, refined: true)
        #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))))
        #expect(F.drain(&lookup, now: F.ms(1_000)) == ([20], .waitUntil(F.ms(2_000))))
        lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(1_500))
        #expect(F.drain(&lookup, now: F.ms(1_500)) == ([30], .waitUntil(F.ms(2_500))))
        lookup.succeeded(F.id(30), closerNodes: [], now: F.ms(1_600))
        #expect(lookup.next(now: F.ms(1_600)) == .finished, "10 is slow: 20 and 30 are the k closest that answer")
        #expect(lookup.result.closest == [20, 30].map { F.contact($0) })
        let late = lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(1_700))
        #expect(!late, "a reply after the end changes nothing")
    }

    /// The node's resends (spec 0007 §5.5) with a fixed 1 s short timeout, from `now` zero.
    static func resending(_ seeds: [UInt64], alpha: Int, k: Int) -> Lookup {
        var configuration = Lookup.Configuration(alpha: alpha, k: k)
        configuration.adaptiveShortTimeoutFloor = nil
        return Self.lookup(seeds, configuration, now: .zero, refined: true)
    }

    /// A slow peer among the k closest is asked once more (spec 0007 §5.5): the resend stays
    /// slow, so it holds neither α nor the end, and a reply to either datagram counts while the
    /// lookup runs.
    @Test func aSlowPeerAmongTheKClosestIsAskedOnceMore() {
        var lookup = Self.resending([10, 20, 30], alpha: 1, k: 2)
        #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))))
        // 10 turns slow: it is resent first (it is the closest), then 20 takes the free slot.
        #expect(F.drain(&lookup, now: F.ms(1_000)) == ([10, 20], .waitUntil(F.ms(2_000))))
        #expect(lookup.inFlight == 1)
        #expect(lookup.outstanding == 2, "the resend is the same query out, not a new one")
        #expect(F.accepted(lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(1_100))))
        #expect(lookup.next(now: F.ms(1_100)) == .waitUntil(F.ms(2_000)), "20 is still waited for")
        #expect(F.accepted(lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(1_200))))
        #expect(lookup.next(now: F.ms(1_200)) == .finished)
        #expect(lookup.result.closest == [10, 20].map { F.contact($0) })
        #expect(lookup.result.queried == 3)
        #expect(lookup.result.slowed == 1)
        #expect(lookup.result.resent == 1)
    }

    /// In a network of fewer than k live nodes, a dead peer does not hold every lookup for the
    /// full timeout (spec 0007 §5.2 step 2): once the others answered and it was asked twice, the
    /// lookup ends a short timeout after the second asking. Seen in the NAT lab, where a relay that went away made `potluck offers` take
    /// 10 s (a get_peers, then a get, each waiting 5 s).
    @Test func aDeadPeerDoesNotHoldTheEndOfALookupInASmallNetwork() {
        var lookup = Self.resending([10, 20, 30], alpha: 3, k: 8)
        #expect(F.drain(&lookup, now: .zero) == ([10, 20, 30], .waitUntil(F.ms(1_000))))
        lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(100))
        lookup.succeeded(F.id(30), closerNodes: [], now: F.ms(100))
        #expect(lookup.next(now: F.ms(100)) == .waitUntil(F.ms(1_000)), "10 is still waited for, up to the short timeout")
        #expect(F.drain(&lookup, now: F.ms(1_000)) == ([10], .waitUntil(F.ms(2_000))), "asked once more, and given a short timeout")
        #expect(lookup.next(now: F.ms(2_000)) == .finished, "then passed over")
        #expect(lookup.result.closest == [20, 30].map { F.contact($0) })
        #expect(lookup.result.duration == .seconds(2))
        // A reply to the resend in time still counts.
        var late = Self.resending([10, 20, 30], alpha: 3, k: 8)
        _ = F.drain(&late, now: .zero)
        late.succeeded(F.id(20), closerNodes: [], now: F.ms(100))
        late.succeeded(F.id(30), closerNodes: [], now: F.ms(100))
        _ = F.drain(&late, now: F.ms(1_000))
        #expect(F.accepted(late.succeeded(F.id(10), closerNodes: [], now: F.ms(1_400))))
        #expect(late.next(now: F.ms(1_400)) == .finished)
        #expect(late.result.closest == [10, 20, 30].map { F.contact($0) })
        // When no live peer answered at all, the lookup still waits for the full timeout: a
        // slow link is not a dead network.
        var silent = Self.resending([10, 20], alpha: 3, k: 8)
        _ = F.drain(&silent, now: .zero)
        #expect(F.drain(&silent, now: F.ms(1_000)) == ([10, 20], .waitUntil(F.ms(2_000))))
        #expect(silent.next(now: F.ms(2_000)) == .waitUntil(F.ms(5_000)))
        #expect(F.accepted(silent.succeeded(F.id(10), closerNodes: [], now: F.ms(2_500))))
        #expect(silent.next(now: F.ms(2_500)) == .finished)
        #expect(silent.result.closest == [F.contact(10)])
        // With slowHoldsTermination, as libtorrent, the slow peer still holds the end.
        var holding = Self.lookup([10, 20], .init(alpha: 3, k: 8), now: .zero)
        _ = F.drain(&holding, now: .zero)
        holding.succeeded(F.id(20), closerNodes: [], now: F.ms(100))
        #expect(holding.next(now: F.ms(1_000)) == .waitUntil(F.ms(5_000)))
    }

    /// A resend keeps the first send time: the peer fails one full timeout after its first query.
    @Test func aResentPeerStillFailsOneFullTimeoutAfterItsFirstQuery() {
        var lookup = Self.resending([10], alpha: 1, k: 1)
        #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))))
        #expect(F.drain(&lookup, now: F.ms(1_000)) == ([10], .waitUntil(F.ms(2_000))), "resent once; awake when the resend is slow too")
        #expect(F.drain(&lookup, now: F.ms(2_000)) == ([], .waitUntil(F.ms(5_000))), "never resent twice")
        #expect(F.drain(&lookup, now: F.ms(3_000)) == ([], .waitUntil(F.ms(5_000))))
        #expect(lookup.next(now: F.ms(5_000)) == .finished)
        #expect(lookup.result.failed == 1)
        #expect(lookup.result.resent == 1)
    }

    /// Only a slow peer among the k closest not failed is resent; one beyond them is not, and a
    /// fresh peer takes the slot it freed.
    @Test func aSlowPeerBeyondTheKClosestIsNotResent() {
        var lookup = Self.resending([10, 20, 30], alpha: 1, k: 1)
        #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))))
        #expect(F.drain(&lookup, now: F.ms(1_000)) == ([10, 20], .waitUntil(F.ms(2_000))))
        #expect(F.drain(&lookup, now: F.ms(2_000)) == ([30], .waitUntil(F.ms(3_000))), "20 is not the closest: not resent")
        #expect(lookup.result.resent == 1)
        #expect(lookup.result.slowed == 2)
    }

    /// The short timeout follows the lookup's own round trips (RFC 6298), between the floor and
    /// the configured one: after 20 ms replies a silent peer turns slow long before a second.
    @Test func theShortTimeoutFollowsTheRoundTrips() {
        var configuration = Lookup.Configuration(alpha: 1, k: 5)
        configuration.burstsWhenConverged = false  // one query at a time, to read each mark
        var lookup = Self.lookup([10, 20, 30, 40, 50], configuration, now: .zero, refined: true)
        #expect(F.drain(&lookup, now: .zero) == ([10], .waitUntil(F.ms(1_000))), "no sample yet: the configured second")
        lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(20))
        // One 20 ms sample: 20 + 3 × 10 = 50 ms, under the 200 ms floor.
        #expect(F.drain(&lookup, now: F.ms(20)) == ([20], .waitUntil(F.ms(220))))
        // Slow replies raise it again: SRTT + three deviations.
        lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(1_020))
        #expect(F.drain(&lookup, now: F.ms(1_020)) == ([30], .waitUntil(F.ms(1_920))), "142.5 + 3 × 252.5 ms")
        // With RFC 6298's four deviations the same samples reach the configured second.
        configuration.timeoutDeviations = 4
        var rfc = Self.lookup([10, 20, 30, 40, 50], configuration, now: .zero, refined: true)
        _ = F.drain(&rfc, now: .zero)
        rfc.succeeded(F.id(10), closerNodes: [], now: F.ms(20))
        _ = F.drain(&rfc, now: F.ms(20))
        rfc.succeeded(F.id(20), closerNodes: [], now: F.ms(1_020))
        #expect(F.drain(&rfc, now: F.ms(1_020)) == ([30], .waitUntil(F.ms(2_020))), "142.5 + 4 × 252.5 ms, capped at 1 s")
    }

    @Test func theQueryBudgetStopsNewQueries() {
        var lookup = Self.lookup([50, 10, 40, 20, 30], .init(maxQueries: 2), now: .zero)
        #expect(F.drain(&lookup, now: .zero) == ([10, 20], .waitUntil(F.ms(1_000))))
        lookup.succeeded(F.id(10), closerNodes: [F.contact(5)], now: F.ms(100))
        #expect(lookup.next(now: F.ms(100)) == .waitUntil(F.ms(1_000)))
        lookup.succeeded(F.id(20), closerNodes: [], now: F.ms(200))
        #expect(lookup.next(now: F.ms(200)) == .finished)
        #expect(lookup.result.queried == 2)
        #expect(lookup.result.closest == [10, 20].map { F.contact($0) })
    }

    @Test func seedsAreDeduplicatedAndOurOwnIDIsNeverQueried() {
        let seeds = [F.contact(10), F.contact(10), F.contact(F.own), F.contact(20)]
        var lookup = Lookup(target: .zero, ownID: F.own, seeds: seeds, now: .zero)
        #expect(F.drain(&lookup, now: .zero) == ([10, 20], .waitUntil(F.ms(1_000))))
        var empty = Lookup(target: .zero, ownID: F.own, seeds: [], now: .zero)
        #expect(empty.next(now: .zero) == .finished)
    }

    @Test func hopsCountTheChainOfReplies() {
        var lookup = Self.lookup([20], now: .zero)
        #expect(F.drain(&lookup, now: .zero).queries == [20])
        lookup.succeeded(F.id(20), closerNodes: [F.contact(15)], now: F.ms(10))
        #expect(F.drain(&lookup, now: F.ms(10)).queries == [15])
        lookup.succeeded(F.id(15), closerNodes: [F.contact(5), F.contact(20)], now: F.ms(20))
        #expect(F.drain(&lookup, now: F.ms(20)).queries == [5])
        lookup.succeeded(F.id(5), closerNodes: [F.contact(15)], now: F.ms(30))
        #expect(lookup.next(now: F.ms(30)) == .finished)
        #expect(lookup.result.closest == [5, 15, 20].map { F.contact($0) })
        #expect(lookup.result.hops == 2)
        #expect([5, 15, 20].map { lookup.hop(of: F.id($0)) } == [2, 1, 0])
    }

    @Test func reportsWithoutAQueryOutAreIgnored() {
        var lookup = Self.lookup([10, 20, 30, 40], .init(alpha: 1))
        _ = F.drain(&lookup, now: F.ms(10_000))
        #expect(!F.accepted(lookup.succeeded(F.id(99), closerNodes: [F.contact(1)], now: F.ms(10_001))))  // unknown
        #expect(!F.accepted(lookup.failed(F.id(20), now: F.ms(10_001))))  // never queried
        #expect(lookup.hop(of: F.id(1)) == nil)
        #expect(F.accepted(lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(10_002))))
        #expect(!F.accepted(lookup.succeeded(F.id(10), closerNodes: [], now: F.ms(10_003))))  // twice
        #expect(!F.accepted(lookup.failed(F.id(10), now: F.ms(10_003))))
        #expect(lookup.result.responded == 1)
        #expect(lookup.result.failed == 0)
    }

    @Test func theCandidateLimitKeepsTheClosestFreshPeers() {
        var lookup = Self.lookup([50, 40, 30, 20, 10], .init(alpha: 1, k: 2, candidateLimit: 2), now: .zero)
        #expect(lookup.hop(of: F.id(20)) == 0)
        #expect(lookup.hop(of: F.id(30)) == nil)
        #expect(F.drain(&lookup, now: .zero).queries == [10])
        lookup.succeeded(F.id(10), closerNodes: [F.contact(60), F.contact(15)], now: F.ms(10))
        #expect(lookup.hop(of: F.id(60)) == nil)
        #expect(lookup.hop(of: F.id(10)) == 0)  // queried peers are never dropped
        #expect(F.drain(&lookup, now: F.ms(10)).queries == [15])
    }
}
