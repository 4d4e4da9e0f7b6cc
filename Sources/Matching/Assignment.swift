// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// How ``Matcher/assign(_:to:options:knowledge:)`` prunes and solves (`spec/0016-matching.md` §4).
public struct AssignmentOptions: Sendable, Hashable {
    /// k: the feasible offers with the smallest estimated latency kept per request (the sparse
    /// problem's arcs). A request left unserved by them falls back to every feasible offer.
    public var candidatesPerRequest: Int = 24
    /// Offers examined per request while looking for its k nearest (bounds the work per request
    /// when few offers are feasible); the fallback is not bounded by it.
    public var maxExaminedPerRequest: Int = 2048
    /// ε of the auction, in seconds: the total placement cost is within (number of requests) × ε
    /// of the optimum of the sparse problem (Bertsekas 1988) when every request uses one core.
    public var epsilonSeconds: Double = 0.001
    /// The cost of leaving a request unserved; larger than any placement cost, so the solver
    /// serves as many requests as it can first.
    public var unassignedPenaltySeconds: Double = 1e9

    public init() {}

    public init(candidatesPerRequest: Int = 24, maxExaminedPerRequest: Int = 2048, epsilonSeconds: Double = 0.001,
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

    /// Σ placement cost over served requests.
    public var totalPlacementCost: Double { placementCost.reduce(0) { $0 + ($1 ?? 0) } }
    /// Requests served.
    public var servedCount: Int { offerForRequest.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
}
