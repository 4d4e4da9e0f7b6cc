// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// The graph of work frozen at one instant (`spec/0012-trust.md` §1): peers sorted by key
/// bytes, parallel edges merged, fading applied, adjacency in compressed sparse rows both ways.
///
/// The canonical order makes every score a function of the set of receipts alone: sums run in
/// peer order and parallel receipts are added smallest first, so insertion order never changes
/// a result, not even in its last bit.
public struct WorkSnapshot: Sendable {
    /// Every peer, sorted by key bytes; a peer's position is its node number.
    public let peers: [PublicKey]
    let index: [PublicKey: Int32]
    let outOffsets: [Int], outTargets: [Int32], outWeights: [Double], outReceipts: [Int32]
    let inOffsets: [Int], inSources: [Int32], inWeights: [Double], inReceipts: [Int32]
    /// Receipts counted.
    public let receiptCount: Int
    /// The instant of the snapshot, Unix milliseconds.
    public let now: Int64

    init(graph: WorkGraph, now: Int64, halfLifeSeconds: Double?) {
        let keyBytes = graph.keys.map(\.bytes)
        let order = keyBytes.indices.sorted { keyBytes[$0].lexicographicallyPrecedes(keyBytes[$1]) }
        var rank = [Int32](repeating: 0, count: order.count)
        for (position, old) in order.enumerated() { rank[old] = Int32(position) }
        peers = order.map { graph.keys[$0] }
        var index: [PublicKey: Int32] = [:]
        index.reserveCapacity(peers.count)
        for (position, key) in peers.enumerated() { index[key] = Int32(position) }
        self.index = index
        self.now = now
        receiptCount = graph.contributions.count

        var items = graph.contributions.map { c in
            let age = Double(now - c.endMilliseconds) / 1000
            let weight = halfLifeSeconds.map { c.coreSeconds * TrustMath.fade(ageSeconds: age, halfLifeSeconds: $0) }
            return (from: rank[Int(c.from)], to: rank[Int(c.to)], weight: weight ?? c.coreSeconds)
        }
        items.sort { ($0.from, $0.to, $0.weight) < ($1.from, $1.to, $1.weight) }
        var from: [Int32] = [], to: [Int32] = [], weight: [Double] = [], count: [Int32] = []
        for item in items {
            if let last = from.indices.last, from[last] == item.from, to[last] == item.to {
                weight[last] += item.weight
                count[last] += 1
            } else {
                from.append(item.from); to.append(item.to); weight.append(item.weight); count.append(1)
            }
        }
        let n = peers.count
        outOffsets = Self.offsets(of: from, nodes: n)
        (outTargets, outWeights, outReceipts) = (to, weight, count)
        // Edges are sorted by source, so a stable counting sort by target keeps sources sorted.
        let inOffsets = Self.offsets(of: to, nodes: n)
        var next = inOffsets
        var sources = [Int32](repeating: 0, count: to.count), inWeights = [Double](repeating: 0, count: to.count)
        var inReceipts = [Int32](repeating: 0, count: to.count)
        for edge in to.indices {
            let slot = next[Int(to[edge])]
            next[Int(to[edge])] += 1
            sources[slot] = from[edge]; inWeights[slot] = weight[edge]; inReceipts[slot] = count[edge]
        }
        (self.inOffsets, inSources, self.inWeights, self.inReceipts) = (inOffsets, sources, inWeights, inReceipts)
    }

    private static func offsets(of nodes: [Int32], nodes n: Int) -> [Int] {
        var offsets = [Int](repeating: 0, count: n + 1)
        for node in nodes { offsets[Int(node) + 1] += 1 }
        for i in 0..<n { offsets[i + 1] += offsets[i] }
        return offsets
    }

    /// The node number of `peer`, if it appears in the graph.
    public func node(of peer: PublicKey) -> Int? { index[peer].map(Int.init) }

    /// Work `provider` gave `consumer` (faded core-seconds), 0 if none.
    public func weight(from provider: PublicKey, to consumer: PublicKey) -> Double {
        guard let u = node(of: provider), let v = node(of: consumer) else { return 0 }
        return weight(u, v)
    }

    /// Receipts from `provider` to `consumer`.
    public func receipts(from provider: PublicKey, to consumer: PublicKey) -> Int {
        guard let u = node(of: provider), let v = node(of: consumer),
            let edge = outEdge(u, v) else { return 0 }
        return Int(outReceipts[edge])
    }

    /// Receipts in which `peer` is provider or consumer.
    public func receipts(involving peer: PublicKey) -> Int {
        guard let u = node(of: peer) else { return 0 }
        let given = outReceipts[outOffsets[u]..<outOffsets[u + 1]].reduce(0) { $0 + Int($1) }
        return inReceipts[inOffsets[u]..<inOffsets[u + 1]].reduce(given) { $0 + Int($1) }
    }

    func weight(_ u: Int, _ v: Int) -> Double { outEdge(u, v).map { outWeights[$0] } ?? 0 }

    /// The position of edge u → v in the out-rows, by binary search.
    func outEdge(_ u: Int, _ v: Int) -> Int? {
        Self.search(outTargets, in: outOffsets[u]..<outOffsets[u + 1], for: Int32(v))
    }

    static func search(_ array: [Int32], in range: Range<Int>, for value: Int32) -> Int? {
        var low = range.lowerBound, high = range.upperBound
        while low < high {
            let mid = (low + high) / 2
            if array[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low < range.upperBound && array[low] == value ? low : nil
    }

    func outRange(_ u: Int) -> Range<Int> { outOffsets[u]..<outOffsets[u + 1] }
    func inRange(_ u: Int) -> Range<Int> { inOffsets[u]..<inOffsets[u + 1] }
}
