// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

extension WorkSnapshot {
    /// Edmonds–Karp restricted to short augmenting paths (`spec/0012-trust.md` §3.1): augment
    /// along a shortest residual path while one of at most `maxLength` edges exists, up to
    /// `maxAugmentations` times. Residual capacity u → v is c(u,v) − f(u,v), f the net flow
    /// (f(v,u) = −f(u,v)); neighbours are visited in node order, so the result is deterministic.
    /// Capacities below 1e-9 core-seconds count as zero. For length 2 it equals the closed form.
    func boundedEdmondsKarp(_ s: Int, _ t: Int, maxLength: Int, maxAugmentations: Int) -> Double {
        var flow: [UInt64: Double] = [:]
        func key(_ u: Int, _ v: Int) -> UInt64 { UInt64(u) << 32 | UInt64(v) }
        func residual(_ u: Int, _ v: Int) -> Double { weight(u, v) - (flow[key(u, v)] ?? 0) }
        var total = 0.0
        for _ in 0..<maxAugmentations {
            guard let path = shortestResidualPath(s, t, maxLength: maxLength, residual: residual) else { break }
            var bottleneck = Double.infinity
            for (u, v) in zip(path, path.dropFirst()) { bottleneck = min(bottleneck, residual(u, v)) }
            for (u, v) in zip(path, path.dropFirst()) {
                flow[key(u, v), default: 0] += bottleneck
                flow[key(v, u), default: 0] -= bottleneck
            }
            total += bottleneck
        }
        return total
    }

    /// A breadth-first search from s to t, at most `maxLength` edges deep, over residual edges
    /// (out-edges and reversed in-edges, merged in node order).
    private func shortestResidualPath(_ s: Int, _ t: Int, maxLength: Int,
                                      residual: (Int, Int) -> Double) -> [Int]? {
        var parent: [Int: Int] = [s: s]
        var frontier = [s]
        for _ in 0..<maxLength {
            var next: [Int] = []
            for u in frontier {
                for v in neighbours(u) where parent[v] == nil && residual(u, v) > 1e-9 {
                    parent[v] = u
                    if v == t {
                        var path = [t], node = t
                        while node != s { node = parent[node]!; path.append(node) }
                        return path.reversed()
                    }
                    next.append(v)
                }
            }
            if next.isEmpty { return nil }
            frontier = next
        }
        return nil
    }

    /// Out- and in-neighbours of u, in node order, without repeats.
    private func neighbours(_ u: Int) -> [Int] {
        let targets = outTargets[outRange(u)].map(Int.init), sources = inSources[inRange(u)].map(Int.init)
        var merged: [Int] = [], i = 0, j = 0
        merged.reserveCapacity(targets.count + sources.count)
        while i < targets.count || j < sources.count {
            let next = j == sources.count || (i < targets.count && targets[i] <= sources[j]) ? targets[i] : sources[j]
            if merged.last != next { merged.append(next) }
            if i < targets.count && targets[i] == next { i += 1 }
            if j < sources.count && sources[j] == next { j += 1 }
        }
        return merged
    }
}
