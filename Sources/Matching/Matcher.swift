// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import PotluckCrypto
import Records

/// The matching engine (`spec/0016-matching.md`, issue 7, DESIGN decision 5): pure, deterministic,
/// no I/O. Hard constraints first (``RuleOut``), never violated; then a score from latency,
/// completion time and trust both ways (``MatchWeights``).
///
/// Two modes: ``rank(_:_:)`` judges one request against the offers a borrower knows (the
/// `potluck run` and `potluck match` path), and ``assign(_:to:options:lenderIsBusy:knownLenders:)`` pairs many
/// requests with many offers at once, minimising the total placement cost (the simulator's path).
public struct Matcher: Sendable {
    public var weights: MatchWeights

    public init(weights: MatchWeights = MatchWeights()) {
        self.weights = weights
    }

    /// Every candidate judged, best first: scored offers by descending score (ties by lender key
    /// bytes, then by position), then ruled-out offers in the order given.
    public func rank(_ request: MatchRequest, _ candidates: [MatchCandidate]) -> [Evaluation] {
        let evaluations = candidates.indices.map { index in
            Evaluation(candidateIndex: index, offer: candidates[index].offer, outcome: evaluate(request, candidates[index]))
        }
        let scored = evaluations.filter { $0.components != nil }.sorted(by: Self.better)
        return scored + evaluations.filter { $0.components == nil }
    }

    /// The best candidate that no constraint rules out, or `nil` when every one is ruled out:
    /// the helper `potluck run` calls.
    public func best(_ request: MatchRequest, _ candidates: [MatchCandidate]) -> Evaluation? {
        rank(request, candidates).first { $0.components != nil }
    }

    /// One candidate judged: the first failing constraint, or the score components.
    public func evaluate(_ request: MatchRequest, _ candidate: MatchCandidate) -> Evaluation.Outcome {
        if let reason = ruleOut(request, candidate.offer, candidate.knowledge) { return .ruledOut(reason) }
        let offerCoordinate = candidate.offer.coordinates.flatMap(VivaldiCoordinate.init(components:))
        let latency = latency(request, offerCoordinate: offerCoordinate, candidate.knowledge)
        if let reason = latencyRuleOut(request, latency) { return .ruledOut(reason) }
        return .scored(components(request, latency: latency, candidate.knowledge))
    }

    /// The latency to a lender (§3): a measured RTT wins, then an estimate given in the knowledge,
    /// then the Vivaldi estimate when both coordinates exist and have the same dimension, else
    /// the assumed default.
    func latency(_ request: MatchRequest, offerCoordinate: VivaldiCoordinate?, _ knowledge: MatchKnowledge)
        -> (ms: Double, source: LatencySource)
    {
        if let measured = knowledge.measuredRTTMs, measured.isFinite, measured >= 0 { return (measured, .measured) }
        if let given = knowledge.estimatedRTTMs, given.isFinite, given >= 0 { return (given, .estimated) }
        if let mine = request.coordinate, let theirs = offerCoordinate, mine.dimensions == theirs.dimensions {
            return (mine.distance(to: theirs), .estimated)
        }
        return (weights.unknownLatencyMs, .assumed)
    }

    /// `tooFar` when a measured or estimated latency exceeds the request's limit.
    func latencyRuleOut(_ request: MatchRequest, _ latency: (ms: Double, source: LatencySource)) -> RuleOut? {
        guard let limit = request.maxLatencyMs, latency.source != .assumed, latency.ms > limit else { return nil }
        return .tooFar
    }

    /// The score's terms (§3, ``MatchWeights``).
    func components(_ request: MatchRequest, latency: (ms: Double, source: LatencySource), _ knowledge: MatchKnowledge)
        -> ScoreComponents
    {
        let compute = request.workCoreSeconds / Double(request.cores)
        let transfer = weights.roundTripsPerJob * latency.ms / 1000
        let priority = knowledge.isFriendOfLender == true
            ? 1 : weights.strangerPriorityCeiling * Self.unit(knowledge.lenderTrustInBorrower ?? 0)
        let busy = knowledge.lenderIsBusy.map { $0 ? 1.0 : 0.0 } ?? weights.unknownBusyProbability
        let wait = busy * weights.busyWaitSeconds * (1 - priority)
        let risk = weights.untrustedRedoFraction * (1 - Self.unit(knowledge.trustInLender)) * (compute + transfer)
        return ScoreComponents(latencyMs: latency.ms, latencySource: latency.source, computeSeconds: compute,
                               transferSeconds: transfer, priority: priority, waitSeconds: wait, riskSeconds: risk)
    }

    /// `value` clamped to [0, 1]; not-a-number counts as 0.
    static func unit(_ value: Double) -> Double { value.isNaN ? 0 : min(max(value, 0), 1) }

    /// The ranking order of scored evaluations.
    static func better(_ a: Evaluation, _ b: Evaluation) -> Bool {
        let scoreA = a.components?.score ?? -.infinity, scoreB = b.components?.score ?? -.infinity
        if scoreA != scoreB { return scoreA > scoreB }
        if a.offer.lender != b.offer.lender { return a.offer.lender.bytes.lexicographicallyPrecedes(b.offer.lender.bytes) }
        return a.candidateIndex < b.candidateIndex
    }
}
