// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// How ``Matcher/assign(_:to:options:lenderIsBusy:knownLenders:)`` prunes and solves (`spec/0016-matching.md` §4).
public struct AssignmentOptions: Sendable, Hashable {
    /// k: the feasible offers with the smallest estimated latency kept per request (the sparse
    /// problem's arcs). A request left unserved by them falls back to every feasible offer.
    public var candidatesPerRequest: Int = 16
    /// Offers examined per request while looking for its k nearest (bounds the work per request
    /// when few offers are feasible); the fallback is not bounded by it.
    public var maxExaminedPerRequest: Int = 2048
    /// The starting ε of the auction, in seconds (each request's doubles every 8 of its bids):
    /// with one-core requests the total placement cost is within Σ ε of the optimum of the
    /// sparse problem (Bertsekas 1988); ``Assignment/optimalityBoundSeconds`` reports it.
    public var epsilonSeconds: Double = 0.05
    /// The cost of leaving a request unserved; larger than any placement cost, so the solver
    /// serves as many requests as it can first.
    public var unassignedPenaltySeconds: Double = 1e9

    public init() {}

    public init(candidatesPerRequest: Int = 16, maxExaminedPerRequest: Int = 2048, epsilonSeconds: Double = 0.05,
                unassignedPenaltySeconds: Double = 1e9) {
        self.candidatesPerRequest = max(1, candidatesPerRequest)
        self.maxExaminedPerRequest = max(1, maxExaminedPerRequest)
        self.epsilonSeconds = epsilonSeconds > 0 ? epsilonSeconds : 0.001
        self.unassignedPenaltySeconds = unassignedPenaltySeconds
    }
}

/// The result of a batch assignment: which offer serves each request, at what placement cost.
public struct Assignment: Sendable, Hashable {
    /// Why a request is left unserved.
    public enum Unserved: String, Sendable, Hashable {
        /// No offer passes the request's hard constraints.
        case noFeasibleOffer
        /// Feasible offers exist, but their capacity went to other requests.
        case capacityExhausted
    }

    /// For each request (by index), the index of the offer that serves it, or `nil`.
    public var offerForRequest: [Int?]
    /// For each served request, its placement cost in seconds (``ScoreComponents/placementCostSeconds``).
    public var placementCost: [Double?]
    /// For each unserved request, why.
    public var unserved: [Int: Unserved]
    /// Arcs of the sparse problem (candidate pairs scored), including fallbacks.
    public var candidateArcs: Int
    /// Requests that fell back to every feasible offer.
    public var fallbacks: Int
    /// Bids the auction made.
    public var bids: Int
    /// Σ ε of the served requests (adaptive ε): with one-core requests, the total placement
    /// cost is at most this much above the optimum of the pruned problem.
    public var optimalityBoundSeconds: Double

    /// Σ placement cost over served requests.
    public var totalPlacementCost: Double { placementCost.reduce(0) { $0 + ($1 ?? 0) } }
    /// Requests served.
    public var servedCount: Int { offerForRequest.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
}
