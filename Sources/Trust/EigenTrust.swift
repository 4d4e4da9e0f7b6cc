// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// How EigenTrust iterates (Kamvar, Schlosser, Garcia-Molina 2003; `spec/0012-trust.md` §5).
public struct EigenTrustConfiguration: Sendable, Hashable {
    /// Peers trusted a priori; p is uniform over those in the graph (over all peers if none is).
    public var preTrusted: [PublicKey]
    /// The weight a of the pre-trusted distribution in each step (Kamvar et al.'s a).
    public var alpha: Double
    /// The most iterations.
    public var maxIterations: Int
    /// Stop when the L1 distance between two iterates falls below this.
    public var tolerance: Double

    /// A configuration; the defaults are a = 0.15, 100 iterations, tolerance 1e-10.
    public init(preTrusted: [PublicKey] = [], alpha: Double = 0.15, maxIterations: Int = 100, tolerance: Double = 1e-10) {
        precondition((0...1).contains(alpha) && maxIterations >= 1 && tolerance >= 0)
        self.preTrusted = preTrusted
        self.alpha = alpha
        self.maxIterations = maxIterations
        self.tolerance = tolerance
    }
}

/// Global EigenTrust values: a comparison baseline, not Potluck's default (DESIGN decision 4).
public struct EigenTrustResult: Sendable, Hashable {
    /// Every peer, in node order (as `WorkSnapshot.peers`).
    public let peers: [PublicKey]
    /// The trust of each peer, summing to 1.
    public let scores: [Double]
    /// Iterations run.
    public let iterations: Int
    /// Whether the tolerance was reached within the cap.
    public let converged: Bool

    /// The score of `peer`, 0 if it is not in the graph.
    public func score(of peer: PublicKey) -> Double {
        guard let position = binarySearch(peer) else { return 0 }
        return scores[position]
    }

    private func binarySearch(_ peer: PublicKey) -> Int? {
        let target = peer.bytes
        var low = 0, high = peers.count
        while low < high {
            let mid = (low + high) / 2
            if peers[mid].bytes.lexicographicallyPrecedes(target) { low = mid + 1 } else { high = mid }
        }
        return low < peers.count && peers[low] == peer ? low : nil
    }
}

extension WorkSnapshot {
    /// EigenTrust (§5): peer i's local trust in j is the work j gave i, c(j,i), normalised over
    /// j; a peer that received nothing trusts p. Then t₀ = p, t_{k+1} = (1 − a) Cᵀ t_k + a p.
    public func eigenTrust(_ configuration: EigenTrustConfiguration = .init()) -> EigenTrustResult {
        let n = peers.count
        guard n > 0 else { return EigenTrustResult(peers: [], scores: [], iterations: 0, converged: true) }
        var p = [Double](repeating: 0, count: n)
        let pre = Set(configuration.preTrusted.compactMap(node(of:)))
        for u in 0..<n where pre.isEmpty || pre.contains(u) { p[u] = 1 / Double(pre.isEmpty ? n : pre.count) }
        let received = (0..<n).map { u in inRange(u).reduce(0.0) { $0 + inWeights[$1] } }
        var t = p, iterations = 0, converged = false
        let a = configuration.alpha
        while iterations < configuration.maxIterations && !converged {
            var next = [Double](repeating: 0, count: n)
            var dangling = 0.0
            for i in 0..<n where t[i] != 0 {
                guard received[i] > 0 else { dangling += t[i]; continue }
                let share = t[i] / received[i]
                for edge in inRange(i) { next[Int(inSources[edge])] += inWeights[edge] * share }
            }
            var distance = 0.0
            for j in 0..<n {
                next[j] = (1 - a) * (next[j] + dangling * p[j]) + a * p[j]
                distance += abs(next[j] - t[j])
            }
            t = next
            iterations += 1
            converged = distance < configuration.tolerance
        }
        return EigenTrustResult(peers: peers, scores: t, iterations: iterations, converged: converged)
    }
}
