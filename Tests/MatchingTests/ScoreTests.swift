// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records
import Testing
@testable import Matching

/// The score (`spec/0016-matching.md` §3) and its test vectors (§6).
@Suite struct ScoreTests {
    let matcher = Matcher()

    /// §6, vector 1 and 2: the worked example of the spec, to 1e-9 s.
    @Test func specVectors() throws {
        let request = testRequest(x: 0, y: 0, h: 5, cores: 2, work: 120)
        let offer = testOffer(1, x: 30, y: 40, h: 5)
        let estimated = try #require(matcher.evaluate(request, MatchCandidate(
            offer: offer, trustInLender: 0.5, lenderTrustInBorrower: 0.5, isFriendOfLender: false)).components)
        #expect(estimated.latencySource == .estimated)
        #expect(abs(estimated.latencyMs - 60) < 1e-9)
        #expect(abs(estimated.computeSeconds - 60) < 1e-9)
        #expect(abs(estimated.transferSeconds - 1.2) < 1e-9)
        #expect(abs(estimated.priority - 0.45) < 1e-9)
        #expect(abs(estimated.waitSeconds - 165) < 1e-9)
        #expect(abs(estimated.riskSeconds - 15.3) < 1e-9)
        #expect(abs(estimated.costSeconds - 241.5) < 1e-9)
        #expect(abs(estimated.placementCostSeconds - 181.5) < 1e-9)
        #expect(abs(estimated.score + 241.5) < 1e-9)
        let measured = try #require(matcher.evaluate(request, MatchCandidate(
            offer: offer, measuredRTTMs: 10, trustInLender: 0.5, lenderTrustInBorrower: 0.5, isFriendOfLender: false)).components)
        #expect(measured.latencySource == .measured)
        #expect(abs(measured.costSeconds - 240.25) < 1e-9)
    }

    @Test func withEqualTrustTheNearerLenderWins() {
        let request = testRequest(x: 100, y: 100)
        let candidates = [
            MatchCandidate(offer: testOffer(1, x: 180, y: 100), trustInLender: 0.3),
            MatchCandidate(offer: testOffer(2, x: 110, y: 95), trustInLender: 0.3),
            MatchCandidate(offer: testOffer(3, x: 100, y: 160), trustInLender: 0.3),
        ]
        #expect(matcher.rank(request, candidates).map(\.candidateIndex) == [1, 2, 0])
    }

    @Test func aLendersFriendIsServedBeforeAStranger() {
        let request = testRequest()
        // The same offer, seen by a friend and by a trusted stranger, when the lender is busy or
        // its state unknown: the friend's wait is 0, the stranger's is not.
        for busy in [true, nil] as [Bool?] {
            let friend = MatchCandidate(offer: testOffer(1, x: 0, y: 0), isFriendOfLender: true, lenderIsBusy: busy)
            let stranger = MatchCandidate(offer: testOffer(1, x: 0, y: 0), lenderTrustInBorrower: 1, isFriendOfLender: false,
                                          lenderIsBusy: busy)
            let friendScore = matcher.evaluate(request, friend).components?.score ?? -.infinity
            let strangerScore = matcher.evaluate(request, stranger).components?.score ?? .infinity
            #expect(friendScore > strangerScore)
        }
        // In batch mode, one busy lender with one free core and two otherwise equal borrowers:
        // the core goes to the friend.
        let requests = [testRequest(201), testRequest(202)]
        let assignment = matcher.assign(requests, to: [testOffer(1, x: 0, y: 0, cores: 1)], lenderIsBusy: { _ in true }) { r in
            [(0, MatchKnowledge(lenderTrustInBorrower: 0.8, isFriendOfLender: r == 1))]
        }
        #expect(assignment.offerForRequest == [nil, 0])
        #expect(assignment.unserved == [0: .capacityExhausted])
    }

    @Test func lenderTrustInTheBorrowerOrdersStrangers() {
        let request = testRequest()
        let trusted = MatchCandidate(offer: testOffer(1, x: 0, y: 0), lenderTrustInBorrower: 0.9, lenderIsBusy: true)
        let unknown = MatchCandidate(offer: testOffer(2, x: 0, y: 0), lenderIsBusy: true)
        #expect(matcher.best(request, [unknown, trusted])?.candidateIndex == 1)
    }

    @Test func aMeasuredRTTOverridesTheEstimate() {
        let request = testRequest()
        // Offer 1 looks near (5 ms) but measures 250 ms; offer 2 looks far (150 ms) and measures 20 ms.
        let candidates = [MatchCandidate(offer: testOffer(1, x: 3, y: 0), measuredRTTMs: 250),
                          MatchCandidate(offer: testOffer(2, x: 148, y: 0), measuredRTTMs: 20)]
        let ranked = matcher.rank(request, candidates)
        #expect(ranked.map(\.candidateIndex) == [1, 0])
        #expect(ranked[0].components?.latencyMs == 20)
        #expect(ranked[0].components?.latencySource == .measured)
        #expect(matcher.rank(request, candidates.map { MatchCandidate(offer: $0.offer) }).map(\.candidateIndex) == [0, 1])
    }

    @Test func trustInTheLenderLowersTheRisk() {
        let request = testRequest(work: 600)
        let candidates = [MatchCandidate(offer: testOffer(1, x: 5, y: 0), trustInLender: 0),
                          MatchCandidate(offer: testOffer(2, x: 40, y: 0), trustInLender: 0.9)]
        #expect(matcher.best(request, candidates)?.candidateIndex == 1)
    }

    @Test func offersWithoutCoordinatesGetTheAssumedLatency() {
        var offer = testOffer(1, x: 0, y: 0)
        offer.coordinates = nil
        let components = matcher.evaluate(testRequest(maxLatencyMs: 10), MatchCandidate(offer: offer)).components
        #expect(components?.latencySource == .assumed)
        #expect(components?.latencyMs == MatchWeights().unknownLatencyMs)
    }
}
