// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records

/// What the borrower knows about one lender beyond its offer (`spec/0016-matching.md` §1).
/// Every field is optional knowledge: `nil` means "not known", and the score then uses the
/// documented default of ``MatchWeights``.
public struct MatchKnowledge: Sendable, Hashable {
    /// A measured round-trip time to the lender, in milliseconds; it wins over the Vivaldi
    /// estimate. Ignored unless finite and not negative.
    public var measuredRTTMs: Double?
    /// A Vivaldi estimate of the round trip computed by whoever holds the borrower's coordinate
    /// (the node, in `offer.list`'s `estimated_rtt_ms`), in milliseconds; used when nothing was
    /// measured, before the estimate from the request's and the offer's coordinates.
    public var estimatedRTTMs: Double?
    /// The borrower's trust in the lender (`spec/0012-trust.md`), clamped to [0, 1]: 0 for a
    /// stranger, 1 for a lender the borrower fully trusts.
    public var trustInLender: Double
    /// The lender's trust in the borrower, if the borrower knows it (clamped to [0, 1]).
    public var lenderTrustInBorrower: Double?
    /// Whether the borrower is one of the lender's friends, if known.
    public var isFriendOfLender: Bool?
    /// Whether every core the lender lends is taken, so that a job would wait in its line, if
    /// known. Its owner's own use of the machine is another matter, which an idle-only offer
    /// states itself (`Offer.busySince`, `spec/0011-records.md` §2.2).
    public var lenderIsBusy: Bool?

    public init(
        measuredRTTMs: Double? = nil, estimatedRTTMs: Double? = nil, trustInLender: Double = 0,
        lenderTrustInBorrower: Double? = nil, isFriendOfLender: Bool? = nil, lenderIsBusy: Bool? = nil
    ) {
        self.measuredRTTMs = measuredRTTMs
        self.estimatedRTTMs = estimatedRTTMs
        self.trustInLender = trustInLender
        self.lenderTrustInBorrower = lenderTrustInBorrower
        self.isFriendOfLender = isFriendOfLender
        self.lenderIsBusy = lenderIsBusy
    }
}

/// One offer the borrower may choose, with what it knows about the lender.
public struct MatchCandidate: Sendable, Hashable {
    public var offer: Offer
    public var knowledge: MatchKnowledge

    public init(offer: Offer, knowledge: MatchKnowledge = MatchKnowledge()) {
        self.offer = offer
        self.knowledge = knowledge
    }

    /// A candidate from its parts (the fields of ``MatchKnowledge``).
    public init(
        offer: Offer, measuredRTTMs: Double? = nil, estimatedRTTMs: Double? = nil, trustInLender: Double = 0,
        lenderTrustInBorrower: Double? = nil, isFriendOfLender: Bool? = nil, lenderIsBusy: Bool? = nil
    ) {
        self.init(offer: offer, knowledge: MatchKnowledge(
            measuredRTTMs: measuredRTTMs, estimatedRTTMs: estimatedRTTMs, trustInLender: trustInLender, lenderTrustInBorrower: lenderTrustInBorrower,
            isFriendOfLender: isFriendOfLender, lenderIsBusy: lenderIsBusy))
    }
}
