// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// How flow-based scores are computed (`spec/0012-trust.md` §3).
public struct FlowConfiguration: Sendable, Hashable {
    /// The longest path of work counted, in edges (BarterCast: 2). At least 1.
    public var maxPathLength: Int
    /// The net flow, in core-seconds, that maps to a score of 0.5 (default one core-hour).
    public var unit: Double
    /// A bound on augmenting paths for lengths above 2 (each costs one bounded search).
    public var maxAugmentations: Int

    /// A configuration; the defaults are BarterCast's two hops and one core-hour.
    public init(maxPathLength: Int = 2, unit: Double = 3600, maxAugmentations: Int = 10_000) {
        precondition(maxPathLength >= 1 && unit > 0 && maxAugmentations >= 1)
        self.maxPathLength = maxPathLength
        self.unit = unit
        self.maxAugmentations = maxAugmentations
    }
}

/// A personal, flow-based score (BarterCast, Meulpolder et al. 2009; NetFlow, Otte et al.):
/// how much work the subject gave that reached the asker, against how much went the other way.
public struct FlowScore: Sendable, Hashable {
    /// Max-flow subject → asker over paths of at most `maxPathLength` edges, core-seconds.
    public let given: Double
    /// Max-flow asker → subject over the same paths, core-seconds.
    public let received: Double
    /// arctan((given − received) / unit) / (π/2), in (−1, 1).
    public let score: Double

    /// `given − received`.
    public var net: Double { given - received }

    /// The score of these flows with `unit` core-seconds to a score of 0.5.
    public init(given: Double, received: Double, unit: Double = 3600) {
        self.given = given
        self.received = received
        score = TrustMath.boundedScore(given - received, unit: unit)
    }
}

extension WorkSnapshot {
    /// `asker`'s trust in `subject` (§3): flows both ways, bounded score. A peer that gave no
    /// work that reached the asker (a whitewasher, a sybil with no real edge) scores 0 or less.
    public func flowScore(of subject: PublicKey, asSeenBy asker: PublicKey,
                          configuration: FlowConfiguration = .init()) -> FlowScore {
        let given = maxFlow(from: subject, to: asker, maxPathLength: configuration.maxPathLength,
                            maxAugmentations: configuration.maxAugmentations)
        let received = maxFlow(from: asker, to: subject, maxPathLength: configuration.maxPathLength,
                               maxAugmentations: configuration.maxAugmentations)
        return FlowScore(given: given, received: received, unit: configuration.unit)
    }

    /// Max-flow from `source` to `sink` over paths of at most `maxPathLength` edges (§3.1):
    /// the closed form for 1 and 2, bounded Edmonds–Karp above.
    public func maxFlow(from source: PublicKey, to sink: PublicKey, maxPathLength: Int = 2,
                        maxAugmentations: Int = 10_000) -> Double {
        guard let s = node(of: source), let t = node(of: sink), s != t else { return 0 }
        switch maxPathLength {
        case ...1: return weight(s, t)
        case 2: return twoHopFlow(s, t)
        default: return boundedEdmondsKarp(s, t, maxLength: maxPathLength, maxAugmentations: maxAugmentations)
        }
    }

    /// c(s,t) + Σ_k min(c(s,k), c(k,t)), k in node order (§3.1). Paths of at most two edges
    /// share no edge, so their max-flow is this sum. Walks the shorter of s's out-row and t's
    /// in-row and binary-searches the other: O(min(d) log max(d)).
    func twoHopFlow(_ s: Int, _ t: Int) -> Double {
        var total = weight(s, t)
        forEachIntermediary(s, t) { _, first, second in total += min(first, second) }
        return total
    }

    /// Calls `body(k, c(s,k), c(k,t))` for each intermediary k ∉ {s, t}, in node order.
    func forEachIntermediary(_ s: Int, _ t: Int, _ body: (Int, Double, Double) -> Void) {
        let out = outRange(s), into = inRange(t)
        if out.count <= into.count {
            for edge in out {
                let k = outTargets[edge]
                guard Int(k) != t, let back = Self.search(inSources, in: into, for: k) else { continue }
                body(Int(k), outWeights[edge], inWeights[back])
            }
        } else {
            for edge in into {
                let k = inSources[edge]
                guard Int(k) != s, let first = Self.search(outTargets, in: out, for: k) else { continue }
                body(Int(k), outWeights[first], inWeights[edge])
            }
        }
    }
}
