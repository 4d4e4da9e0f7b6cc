// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// The Network of Favors balance view (OurGrid, Andrade et al. 2004; `spec/0012-trust.md` §4):
/// only direct work between the two peers counts, and a balance never goes below zero, so a
/// newcomer or a whitewasher (a fresh identity) starts level with a free rider: at 0.
public struct FavorBalance: Sendable, Hashable {
    /// Work the subject gave the asker (faded core-seconds).
    public let given: Double
    /// Work the asker gave the subject.
    public let received: Double

    /// `given − received`, before flooring (antisymmetric: swapping the peers negates it).
    public var difference: Double { given - received }
    /// max(0, given − received): the asker's balance with the subject.
    public var balance: Double { max(0, difference) }
}

extension WorkSnapshot {
    /// `asker`'s Network of Favors balance with `subject`.
    public func favorBalance(of subject: PublicKey, asSeenBy asker: PublicKey) -> FavorBalance {
        FavorBalance(given: weight(from: subject, to: asker), received: weight(from: asker, to: subject))
    }
}
