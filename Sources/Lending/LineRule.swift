// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto
import Trust

/// The community's rule for a busy lender's line (`spec/0017-jobs.md` §3.2): how much the lender
/// ranks a borrower, from the receipts it holds. The node's job service and the lending
/// simulator both ask it, so the simulator measures the rule a node runs. Friends go first
/// whatever the rule (``JobLine/Priority``).
public struct LineRule: Sendable, Hashable {
    public enum Order: String, Sendable, Hashable, CaseIterable {
        /// Net flow trust (BarterCast, `spec/0012-trust.md` §3): what the borrower gave that
        /// reached the lender less what went the other way, bounded in (−1, 1). A peer that
        /// borrowed more than it gave ranks below a stranger.
        case trust
        /// The work the borrower gave that reached the lender, gross, bounded the same way.
        case given
        /// First come, first served: every borrower ranks the same.
        case fifo
        /// Network of Favors (Andrade, Brasileiro, Cirne, Mowbray, HPDC 2004; OurGrid): only
        /// work directly between the two peers counts, and the balance never goes below zero
        /// (`spec/0012-trust.md` §4), bounded like the others.
        case favors
        /// Potluck's rule: the net flow floored at zero, as Network of Favors floors balances
        /// (Andrade et al. 2004), so no identity ranks below a fresh one and a new identity
        /// never pays; ties broken by what the borrower gave, so a peer that gave work ranks
        /// above one that never did, even when it borrowed more (`spec/0022`).
        case potluck
    }

    /// The default weight of what a borrower gave under ``Order/potluck``: small enough that it
    /// only breaks ties (a net difference of more than this always wins), large enough to count.
    public static let defaultGaveWeight = 0.001

    public var order: Order
    public var flow: FlowConfiguration
    /// Under ``Order/potluck``, the weight of what the borrower gave beside its floored net
    /// (`policy.gave_weight` in a scenario, `offer.gave_weight` on the node): 0 makes the rule
    /// Network of Favors over flows; larger values rank givers in debt above creditors.
    public var gaveWeight: Double

    public init(order: Order, flow: FlowConfiguration = FlowConfiguration(), gaveWeight: Double = LineRule.defaultGaveWeight) {
        precondition(gaveWeight >= 0)
        self.order = order
        self.flow = flow
        self.gaveWeight = gaveWeight
    }

    /// How `lender` ranks `borrower` in `snapshot` (higher is served first). `grant` is
    /// credit the community gives the borrower's identity besides its receipts (a starter
    /// grant, core-seconds; 0 on the node today).
    public func rank(of borrower: PublicKey, asSeenBy lender: PublicKey, in snapshot: WorkSnapshot, grant: Double = 0) -> Double {
        switch order {
        case .fifo: return 0
        case .favors:
            let favors = snapshot.favorBalance(of: borrower, asSeenBy: lender)
            return rank(FlowScore(given: favors.given, received: favors.received, unit: flow.unit), grant: grant)
        case .trust, .given, .potluck:
            let score = snapshot.flowScore(of: borrower, asSeenBy: lender, configuration: flow)
            return rank(score, grant: grant)
        }
    }

    /// The rank a flow score (and a grant) gives under this rule; under ``Order/favors`` the
    /// flows are the direct work between the two peers.
    public func rank(_ score: FlowScore, grant: Double = 0) -> Double {
        switch order {
        case .fifo: return 0
        case .favors: return TrustMath.boundedScore(max(0, score.net + grant), unit: flow.unit)
        case .trust: return grant > 0 ? TrustMath.boundedScore(score.net + grant, unit: flow.unit) : score.score
        case .given: return TrustMath.boundedScore(score.given + grant, unit: flow.unit)
        case .potluck:
            let net = max(0, TrustMath.boundedScore(score.net + grant, unit: flow.unit))
            return net + gaveWeight * TrustMath.boundedScore(score.given, unit: flow.unit)
        }
    }
}
