// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records

extension Matcher {
    /// Batch mode (`spec/0016-matching.md` §4): pairs `requests` with `offers`, each offer
    /// lending its `cores` as capacity and each request using its own `cores`, minimising the
    /// total placement cost (``ScoreComponents/placementCostSeconds``) while serving as many
    /// requests as possible. No pair that fails a hard constraint is ever assigned.
    ///
    /// 1. Index the offers by runtime and busy state, each on a grid over their Vivaldi
    ///    coordinates (``OfferIndex``).
    /// 2. Keep, per request, its k feasible offers of least estimated latency in each busy state
    ///    (`options.candidatesPerRequest`) and its known lenders' offers: the sparse problem.
    /// 3. Solve it with Bertsekas' auction (``AuctionSolver``).
    /// 4. A request left unserved whose list was pruned falls back to every feasible offer, and
    ///    the auction resumes.
    ///
    /// What borrowers know comes in two parts, so that pruning stays exact for strangers:
    /// `lenderIsBusy(offer)`, the busy state of each offer's lender as the simulator knows it,
    /// and `knownLenders(request)`, the few offers whose lenders the request's borrower knows
    /// (trust both ways, friendship, a measured RTT); every other pair is scored as a stranger
    /// (trust 0, not a friend). Within one busy state a stranger's cost grows with latency alone,
    /// so a request's k nearest offers per busy state are its k best strangers.
    public func assign(
        _ requests: [MatchRequest], to offers: [Offer], options: AssignmentOptions = AssignmentOptions(),
        lenderIsBusy: (_ offer: Int) -> Bool? = { _ in nil },
        knownLenders: (_ request: Int) -> [(offer: Int, knowledge: MatchKnowledge)] = { _ in [] }
    ) -> Assignment {
        let busy = offers.indices.map(lenderIsBusy)
        let index = OfferIndex(offers: offers, lenderIsBusy: { busy[$0] })
        let search = CandidateSearch(matcher: self, offers: offers, index: index, options: options, lenderIsBusy: busy)
        var arcs: [[Arc]] = []
        var complete: [Bool] = []
        arcs.reserveCapacity(requests.count)
        complete.reserveCapacity(requests.count)
        for (r, request) in requests.enumerated() {
            let found = search.nearest(r, request, known: knownLenders(r))
            arcs.append(found.arcs)
            complete.append(found.complete)
        }
        var solver = AuctionSolver(arcs: arcs, cores: requests.map(\.cores), capacity: offers.map(\.cores),
                                   epsilon: options.epsilonSeconds, penalty: options.unassignedPenaltySeconds)
        solver.run()
        var fallbacks = 0
        for r in requests.indices where solver.assigned[r] < 0 && !complete[r] {
            solver.extend(request: r, with: search.all(r, requests[r], known: knownLenders(r)))
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
                          candidateArcs: arcCount, fallbacks: fallbacks, bids: solver.bids,
                          optimalityBoundSeconds: solver.optimalityBound)
    }
}
