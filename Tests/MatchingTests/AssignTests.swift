// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records
import Testing
@testable import Matching

/// Batch mode (`spec/0016-matching.md` §4): capacities, fallback, and cost beside the exact optimum.
@Suite struct AssignTests {
    let matcher = Matcher()

    @Test(arguments: [11, 12, 13] as [UInt64]) func capacitiesAreRespected(seed: UInt64) {
        let instance = RandomInstance(seed: seed, requests: 200, offers: 60)
        let assignment = matcher.assign(instance.requests, to: instance.offers, lenderIsBusy: instance.lenderIsBusy, knownLenders: instance.knownLenders)
        var used = [Int](repeating: 0, count: instance.offers.count)
        for (r, offer) in assignment.offerForRequest.enumerated() { if let offer { used[offer] += instance.requests[r].cores } }
        for offer in instance.offers.indices { #expect(used[offer] <= instance.offers[offer].cores) }
        #expect(assignment.servedCount > 0)
        #expect(assignment.servedCount + assignment.unserved.count == instance.requests.count)
    }

    @Test func aPrunedListFallsBackToEveryFeasibleOffer() {
        // Three borrowers at the same spot, three one-core lenders at 10, 20 and 30 ms: with one
        // candidate each, all three want the nearest; the fallback serves all three.
        let requests = [testRequest(201), testRequest(202), testRequest(203)]
        let offers = [testOffer(1, x: 8, y: 0, cores: 1), testOffer(2, x: 18, y: 0, cores: 1), testOffer(3, x: 28, y: 0, cores: 1)]
        let assignment = matcher.assign(requests, to: offers, options: AssignmentOptions(candidatesPerRequest: 1))
        #expect(assignment.servedCount == 3)
        #expect(Set(assignment.offerForRequest.compactMap { $0 }) == [0, 1, 2])
        #expect(assignment.fallbacks > 0)
    }

    @Test func aRequestNoOfferCanServeIsReported() {
        let request = MatchRequest(borrower: testKey(200), runtime: "python3", now: noon)
        let assignment = matcher.assign([request, testRequest()], to: [testOffer(1, x: 0, y: 0)])
        #expect(assignment.offerForRequest == [nil, 0])
        #expect(assignment.unserved == [0: .noFeasibleOffer])
    }

    /// On small random instances (one-core requests, offers of 1 to 3 cores), the auction's total
    /// is within 2% of the exact optimum (Hungarian method on the slot-expanded matrix, with one
    /// "unserved" column per request at the penalty), pruned or not.
    @Test(arguments: [21, 22, 23, 24, 25, 26] as [UInt64]) func batchCostIsNearTheExactOptimum(seed: UInt64) {
        let instance = RandomInstance(seed: seed, requests: 40, offers: 30, unitCores: true)
        let penalty = 10_000.0
        var columns: [Int] = []  // slot → offer
        for (offer, value) in instance.offers.enumerated() { columns += Array(repeating: offer, count: value.cores) }
        let matrix = instance.requests.indices.map { r in
            columns.map { offer -> Double in
                let candidate = MatchCandidate(offer: instance.offers[offer], knowledge: instance.knowledge(r, offer))
                return matcher.evaluate(instance.requests[r], candidate).components?.placementCostSeconds ?? penalty
            } + Array(repeating: penalty, count: instance.requests.count)
        }
        let optimum = hungarianMinimumCost(matrix)
        for k in [3, 24] {
            let options = AssignmentOptions(candidatesPerRequest: k, epsilonSeconds: 1e-4, unassignedPenaltySeconds: penalty)
            let assignment = matcher.assign(instance.requests, to: instance.offers, options: options, lenderIsBusy: instance.lenderIsBusy, knownLenders: instance.knownLenders)
            let objective = assignment.totalPlacementCost + penalty * Double(assignment.unserved.count)
            #expect(objective >= optimum - 1e-6, "seed \(seed), k \(k): below the optimum, the costs disagree")
            #expect(objective <= optimum * 1.02 + 40 * 1e-4, "seed \(seed), k \(k): \(objective) vs optimum \(optimum)")
        }
    }
}
