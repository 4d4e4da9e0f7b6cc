// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// Why `asker` trusts `subject` as it does (`spec/0012-trust.md` §7): the flows, the direct
/// balance, the intermediaries that carried the most work, and how many receipts are behind it.
public struct TrustExplanation: Sendable, Hashable {
    /// One peer k on a two-edge path subject → k → asker.
    public struct Intermediary: Sendable, Hashable {
        /// The peer.
        public let peer: PublicKey
        /// Work the subject gave k.
        public let fromSubject: Double
        /// Work k gave the asker.
        public let toAsker: Double
        /// min(fromSubject, toAsker): what this path adds to the flow.
        public var carried: Double { min(fromSubject, toAsker) }
    }

    /// The peer asking.
    public let asker: PublicKey
    /// The peer asked about.
    public let subject: PublicKey
    /// The flow-based score and its two flows.
    public let flow: FlowScore
    /// The direct work both ways (Network of Favors).
    public let direct: FavorBalance
    /// The intermediaries that carried the most, most first (ties by node order).
    public let intermediaries: [Intermediary]
    /// How many intermediaries there are in all.
    public let intermediaryCount: Int
    /// Receipts on the two direct edges.
    public let directReceipts: Int
    /// Receipts in which the subject is a party.
    public let subjectReceipts: Int
    /// Receipts known in all.
    public let knownReceipts: Int
}

extension WorkSnapshot {
    /// The explanation of `asker`'s score for `subject`, listing at most `top` intermediaries.
    public func explain(_ subject: PublicKey, asSeenBy asker: PublicKey,
                        configuration: FlowConfiguration = .init(), top: Int = 5) -> TrustExplanation {
        var hops: [(node: Int, via: TrustExplanation.Intermediary)] = []
        if let s = node(of: subject), let t = node(of: asker), s != t {
            forEachIntermediary(s, t) { k, first, second in
                hops.append((k, .init(peer: peers[k], fromSubject: first, toAsker: second)))
            }
        }
        let ranked = hops.sorted { a, b in
            a.via.carried != b.via.carried ? a.via.carried > b.via.carried : a.node < b.node
        }
        return TrustExplanation(
            asker: asker, subject: subject,
            flow: flowScore(of: subject, asSeenBy: asker, configuration: configuration),
            direct: favorBalance(of: subject, asSeenBy: asker),
            intermediaries: ranked.prefix(top).map(\.via), intermediaryCount: hops.count,
            directReceipts: receipts(from: subject, to: asker) + receipts(from: asker, to: subject),
            subjectReceipts: receipts(involving: subject), knownReceipts: receiptCount)
    }
}
