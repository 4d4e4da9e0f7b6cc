// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records

/// Where a latency figure came from.
public enum LatencySource: String, Sendable, Hashable {
    /// A round-trip time the borrower measured.
    case measured
    /// The Vivaldi estimate between the borrower's and the offer's coordinates.
    case estimated
    /// Neither is available: ``MatchWeights/unknownLatencyMs``.
    case assumed
}

/// The terms of one offer's score (`spec/0016-matching.md` §3), in seconds unless named otherwise.
public struct ScoreComponents: Sendable, Hashable {
    public var latencyMs: Double
    public var latencySource: LatencySource
    public var computeSeconds: Double
    public var transferSeconds: Double
    /// The borrower's priority at the lender, in [0, 1] (1 for a friend).
    public var priority: Double
    public var waitSeconds: Double
    public var riskSeconds: Double

    /// compute + transfer + wait + risk.
    public var costSeconds: Double { computeSeconds + transferSeconds + waitSeconds + riskSeconds }
    /// The part of the cost that depends on the offer chosen: cost − compute.
    public var placementCostSeconds: Double { transferSeconds + waitSeconds + riskSeconds }
    /// −cost: higher is better.
    public var score: Double { -costSeconds }
}

/// One candidate, judged: either the constraint that rules it out or its score.
public struct Evaluation: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case ruledOut(RuleOut)
        case scored(ScoreComponents)

        /// The score components, when the offer is not ruled out.
        public var components: ScoreComponents? {
            if case .scored(let components) = self { components } else { nil }
        }

        /// The constraint that rules the offer out, if any.
        public var ruleOut: RuleOut? {
            if case .ruledOut(let reason) = self { reason } else { nil }
        }
    }

    /// The candidate's position in the list given to ``Matcher/rank(_:_:)``.
    public var candidateIndex: Int
    public var offer: Offer
    public var outcome: Outcome

    public init(candidateIndex: Int, offer: Offer, outcome: Outcome) {
        self.candidateIndex = candidateIndex
        self.offer = offer
        self.outcome = outcome
    }

    /// The score components, when the offer is not ruled out.
    public var components: ScoreComponents? { outcome.components }

    /// The constraint that rules the offer out, if any.
    public var ruleOut: RuleOut? { outcome.ruleOut }
}
