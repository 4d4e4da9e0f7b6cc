// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending
import Trust

/// A cached score: `asker`'s trust in `subject`'s identity number `generation`.
struct ScoreKey: Hashable {
    var asker: UInt32
    var subject: UInt32
    var generation: UInt32
}

extension LendingSimulation {
    /// The snapshot is rebuilt every `trust.interval_s` (`spec/0018` §4): fading applied at that
    /// instant, scores cached until the next one, so the cost is one sort of the receipts per
    /// interval plus two bounded flows per distinct (lender, borrower) pair asked.
    func trustTick() {
        if lending.view != .node { snapshot = graph.snapshot(now: Int64(now / 1_000_000), halfLifeSeconds: lending.decayHalfLife) }
        trustTicks += 1
        scoreCache.removeAll(keepingCapacity: true)
        metrics.trustSnapshots += 1
        let next = now + Self.nanoseconds(lending.trustInterval)
        if next <= end { queue.schedule(.trustTick, at: next) }
    }

    /// The lender's trust in a borrower's identity, as its line ranks it (`spec/0017-jobs.md`
    /// §3.2): the scenario's ``LineRule`` — the node's own — over the flow score of
    /// `spec/0012-trust.md` §3 from the lender's position in the graph, with the starter grant
    /// when the community gives one (`spec/0018` §2.3).
    func lenderTrust(slot: Int, borrower: UInt32, generation identity: UInt32) -> Double {
        let lender = lenderPeer[slot]
        let cacheKey = ScoreKey(asker: lender, subject: borrower, generation: identity)
        if let cached = scoreCache[cacheKey] { return cached }
        let rule = LineRule(order: lending.order, flow: flowConfiguration, gaveWeight: lending.gaveWeight)
        let subject = key(borrower, identity), asker = key(lender, generation[Int(lender)])
        let grant = starterGrant(of: borrower, generation: identity)
        let score: Double
        switch lending.view {
        case .own:
            // The lender's own receipts: only the work directly between the two counts.
            let direct = FlowScore(given: snapshot.weight(from: subject, to: asker), received: snapshot.weight(from: asker, to: subject),
                                   unit: lending.trustUnit)
            score = rule.rank(direct, grant: grant)
        case .global:
            score = rule.rank(of: subject, asSeenBy: asker, in: snapshot, grant: grant)
        case .node:
            score = rule.rank(of: subject, asSeenBy: asker, in: ledgerSnapshot(of: Int(lender)), grant: grant)
        }
        scoreCache[cacheKey] = score
        return score
    }

    /// The borrower's trust in a lender (the `τ_bl` of `spec/0016-matching.md` §3).
    func borrowerTrust(borrower: UInt32, slot: Int) -> Double {
        let lender = lenderPeer[slot]
        let identity = generation[Int(borrower)]
        // Lender numbers are kept apart from identities by the top bit of `generation`.
        let cacheKey = ScoreKey(asker: borrower, subject: lender, generation: identity | 1 << 31)
        if let cached = scoreCache[cacheKey] { return cached }
        let subject = key(lender, generation[Int(lender)]), asker = key(borrower, identity)
        let score = switch lending.view {
        case .own:
            TrustMath.boundedScore(snapshot.weight(from: subject, to: asker) - snapshot.weight(from: asker, to: subject), unit: lending.trustUnit)
        case .global:
            snapshot.flowScore(of: subject, asSeenBy: asker, configuration: flowConfiguration).score
        case .node:
            ledgerSnapshot(of: Int(borrower)).flowScore(of: subject, asSeenBy: asker, configuration: flowConfiguration).score
        }
        scoreCache[cacheKey] = score
        return score
    }

    /// The credit of an identity first seen after the start: `starter_grant` core-seconds,
    /// fading with `decay_half_life_s` from its birth like any credit; 0 for the peers present
    /// at the start and for a whitewasher's abandoned identities. Under Potluck's rule only an
    /// identity that lends gets it: a grant for offering capacity, which a whitewasher that
    /// never lends cannot farm (`spec/0022`).
    func starterGrant(of peer: UInt32, generation identity: UInt32) -> Double {
        guard lending.starterGrant > 0, identity == generation[Int(peer)], identityBorn[Int(peer)] > 0 else { return 0 }
        guard lending.order != .potluck || peerClass[Int(peer)].lends else { return 0 }
        guard let halfLife = lending.decayHalfLife else { return lending.starterGrant }
        let age = Double(now - identityBorn[Int(peer)]) / 1e9
        return lending.starterGrant * TrustMath.fade(ageSeconds: age, halfLifeSeconds: halfLife)
    }
}
