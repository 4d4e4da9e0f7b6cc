// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records

extension Matcher {
    /// Batch mode (`spec/0016-matching.md` §4): pairs `requests` with `offers`, each offer
    /// lending its `cores` as capacity and each request using its own `cores`, minimising the
    /// total placement cost (``ScoreComponents/placementCostSeconds``) while serving as many
    /// requests as possible. No pair that fails a hard constraint is ever assigned.
    ///
    /// 1. Index the offers by runtime and, within a runtime, on a grid over their Vivaldi
    ///    coordinates (``OfferIndex``).
    /// 2. Keep, per request, its k feasible offers of least estimated latency
    ///    (`options.candidatesPerRequest`): the sparse problem.
    /// 3. Solve it with Bertsekas' auction (``AuctionSolver``).
    /// 4. A request left unserved whose list was pruned falls back to every feasible offer, and
    ///    the auction resumes.
    ///
    /// `knowledge(request, offer)` tells what the borrower of a request knows of an offer's
    /// lender (trust both ways, friendship, busy state, a measured RTT); it is asked only for
    /// pairs the search examines. **Deviation:** the search is by estimated latency, so an offer
    /// beyond a request's k nearest is considered only on fallback, however trusted.
    public func assign(
        _ requests: [MatchRequest], to offers: [Offer], options: AssignmentOptions = AssignmentOptions(),
        knowledge: (_ request: Int, _ offer: Int) -> MatchKnowledge = { _, _ in MatchKnowledge() }
    ) -> Assignment {
        let search = CandidateSearch(matcher: self, offers: offers, index: OfferIndex(offers: offers), options: options)
        var arcs: [[Arc]] = []
        var complete: [Bool] = []
        arcs.reserveCapacity(requests.count)
        complete.reserveCapacity(requests.count)
        for (r, request) in requests.enumerated() {
            let found = search.nearest(r, request, knowledge: knowledge)
            arcs.append(found.arcs)
            complete.append(found.complete)
        }
        var solver = AuctionSolver(arcs: arcs, cores: requests.map(\.cores), capacity: offers.map(\.cores),
                                   epsilon: options.epsilonSeconds, penalty: options.unassignedPenaltySeconds)
        solver.run()
        var fallbacks = 0
        for r in requests.indices where solver.assigned[r] < 0 && !complete[r] {
            solver.extend(request: r, with: search.all(r, requests[r], knowledge: knowledge))
            fallbacks += 1
        }
        if fallbacks > 0 { solver.run() }
        return Self.assignment(solver, fallbacks: fallbacks)
    }

    private static func assignment(_ solver: AuctionSolver, fallbacks: Int) -> Assignment {
        var offerFor: [Int?] = [], costs: [Double?] = []
        var unserved: [Int: Assignment.Unserved] = [:]
        var arcCount = 0
        for (r, arcs) in solver.arcs.enumerated() {
            arcCount += arcs.count
            let offer = Int(solver.assigned[r])
            if offer >= 0, let arc = arcs.first(where: { Int($0.offer) == offer }) {
                offerFor.append(offer)
                costs.append(arc.cost)
            } else {
                offerFor.append(nil)
                costs.append(nil)
                unserved[r] = arcs.isEmpty ? .noFeasibleOffer : .capacityExhausted
            }
        }
        return Assignment(offerForRequest: offerFor, placementCost: costs, unserved: unserved,
                          candidateArcs: arcCount, fallbacks: fallbacks, bids: solver.bids)
    }
}
