// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records
import Testing
@testable import Matching

/// Hard constraints (`spec/0016-matching.md` §2): each one named, and never violated.
@Suite struct ConstraintTests {
    let matcher = Matcher()

    @Test func eachConstraintHasItsReason() throws {
        let request = testRequest(cores: 2, memoryBytes: 2 << 30, maxLatencyMs: 100)
        let night = try #require(TimeWindow("22:00-06:00"))
        let cases: [(MatchCandidate, RuleOut)] = [
            (MatchCandidate(offer: testOffer(1, x: 0, y: 0, expiry: noon)), .expired),
            (MatchCandidate(offer: testOffer(2, x: 0, y: 0, runtimes: ["native-x86_64"])), .runtime),
            (MatchCandidate(offer: testOffer(3, x: 0, y: 0, cores: 1)), .cores),
            (MatchCandidate(offer: testOffer(4, x: 0, y: 0, memoryBytes: 1 << 30)), .memory),
            (MatchCandidate(offer: testOffer(5, x: 0, y: 0, windows: [night])), .window),
            (MatchCandidate(offer: testOffer(6, x: 0, y: 0, policy: OfferPolicy(denied: [testKey(200)]))), .denied),
            (MatchCandidate(offer: testOffer(7, x: 0, y: 0, policy: OfferPolicy(allowed: [testKey(201)]))), .notAllowed),
            (MatchCandidate(offer: testOffer(8, x: 0, y: 0, idleOnly: true, busySince: 1)), .notIdle),
            (MatchCandidate(offer: testOffer(9, x: 300, y: 0)), .tooFar),
            (MatchCandidate(offer: testOffer(10, x: 0, y: 0), measuredRTTMs: 101), .tooFar),
        ]
        for (candidate, reason) in cases {
            #expect(matcher.evaluate(request, candidate) == .ruledOut(reason), "\(reason)")
        }
        // Cores taken (`lenderIsBusy`) mean a wait in the line, not an owner at the machine.
        #expect(matcher.evaluate(request, MatchCandidate(offer: testOffer(11, x: 0, y: 0, idleOnly: true), lenderIsBusy: true)).ruleOut == nil)
        // An offer that says its machine is busy (`spec/0011` §2.2) is ruled out by its own word,
        // by `evaluate` and `assign` alike.
        var busy = testOffer(13, x: 0, y: 0, idleOnly: true, busySince: 1)
        #expect(matcher.evaluate(request, MatchCandidate(offer: busy)) == .ruledOut(.notIdle))
        #expect(matcher.evaluate(request, MatchCandidate(offer: busy, lenderIsBusy: false)) == .ruledOut(.notIdle))
        #expect(matcher.assign([request], to: [busy]).offerForRequest == [nil])
        busy.busySince = nil
        #expect(matcher.assign([request], to: [busy]).offerForRequest == [0])
        let inWindow = try #require(TimeWindow("11:00-13:00"))
        #expect(matcher.evaluate(request, MatchCandidate(offer: testOffer(12, x: 0, y: 0, windows: [night, inWindow]))).ruleOut == nil)
    }

    /// The borrower's own `avoided` lenders are ruled out by `evaluate`, `best` and `assign`
    /// alike, even when they are the nearest (`spec/0016` §2).
    @Test func anAvoidedLenderIsNeverChosen() {
        var request = testRequest()
        let near = testOffer(1, x: 0, y: 0), far = testOffer(2, x: 50, y: 0)
        #expect(matcher.best(request, [MatchCandidate(offer: near), MatchCandidate(offer: far)])?.candidateIndex == 0)
        #expect(matcher.assign([request], to: [near, far]).offerForRequest == [0])
        request.avoided = [near.lender]
        #expect(matcher.evaluate(request, MatchCandidate(offer: near)) == .ruledOut(.avoided))
        #expect(matcher.best(request, [MatchCandidate(offer: near), MatchCandidate(offer: far)])?.candidateIndex == 1)
        #expect(matcher.assign([request], to: [near, far]).offerForRequest == [1])
        #expect(matcher.assign([request], to: [near]).offerForRequest == [nil])
    }

    @Test func rankListsRuledOutOffersAfterScoredOnes() {
        let request = testRequest()
        let candidates = [MatchCandidate(offer: testOffer(1, x: 0, y: 0, cores: 4, runtimes: ["other"])),
                          MatchCandidate(offer: testOffer(2, x: 50, y: 0)), MatchCandidate(offer: testOffer(3, x: 10, y: 0))]
        let ranked = matcher.rank(request, candidates)
        #expect(ranked.map(\.candidateIndex) == [2, 1, 0])
        #expect(ranked[2].ruleOut == .runtime)
        #expect(matcher.best(request, candidates)?.candidateIndex == 2)
        #expect(matcher.best(request, [candidates[0]]) == nil)
    }

    /// Seeded property test: whatever `rank` or `assign` chooses passes every hard constraint.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64]) func choicesNeverViolateAConstraint(seed: UInt64) {
        let instance = RandomInstance(seed: seed, requests: 60, offers: 120)
        var ranked = 0
        for (r, request) in instance.requests.enumerated() {
            let candidates = instance.offers.indices.map { MatchCandidate(offer: instance.offers[$0], knowledge: instance.knowledge(r, $0)) }
            if let best = matcher.best(request, candidates) {
                ranked += 1
                #expect(Self.violation(request, candidates[best.candidateIndex]) == nil, "seed \(seed): rank chose a violating offer")
            }
        }
        #expect(ranked > 0)
        let options = AssignmentOptions(candidatesPerRequest: 3, maxExaminedPerRequest: 20)
        let assignment = matcher.assign(instance.requests, to: instance.offers, options: options, lenderIsBusy: instance.lenderIsBusy, knownLenders: instance.knownLenders)
        #expect(assignment.servedCount > 0)
        var usedCores = [Int](repeating: 0, count: instance.offers.count)
        for (r, offer) in assignment.offerForRequest.enumerated() {
            guard let offer else { continue }
            usedCores[offer] += instance.requests[r].cores
            let candidate = MatchCandidate(offer: instance.offers[offer], knowledge: instance.knowledge(r, offer))
            #expect(Self.violation(instance.requests[r], candidate) == nil, "seed \(seed): assign chose a violating offer")
        }
        for (offer, used) in usedCores.enumerated() { #expect(used <= instance.offers[offer].cores, "seed \(seed): capacity exceeded") }
    }

    /// Checks every constraint directly from the offer's fields (independently of the engine).
    static func violation(_ request: MatchRequest, _ candidate: MatchCandidate) -> String? {
        let offer = candidate.offer
        if request.now >= offer.expiry { return "expired" }
        if !offer.runtimes.contains(request.runtime) { return "runtime" }
        if offer.cores < request.cores { return "cores" }
        if offer.memoryBytes < request.memoryBytes { return "memory" }
        let minute = Int((request.now % 86_400) / 60)
        if !offer.windows.isEmpty, !offer.windows.contains(where: { $0.contains(minute: minute) }) { return "window" }
        if !offer.admits(request.borrower) { return "policy" }
        if offer.idleOnly, offer.busySince != nil { return "idle" }
        if let limit = request.maxLatencyMs {
            if let measured = candidate.knowledge.measuredRTTMs {
                if measured > limit { return "too far (measured)" }
            } else if let mine = request.coordinate, let coordinates = offer.coordinates,
                      let theirs = VivaldiCoordinateProbe.coordinate(coordinates), mine.distance(to: theirs) > limit {
                return "too far (estimated)"
            }
        }
        return nil
    }
}

import Coordinates

enum VivaldiCoordinateProbe {
    static func coordinate(_ components: [Double]) -> VivaldiCoordinate? { VivaldiCoordinate(components: components) }
}
