import Coordinates
extension RoutingTable {
    /// Up to `count` members closest to `target` in the XOR metric, nearest first (the answer to a
    /// BEP 5 `find_node`, and the start of a lookup; paper §2.3). Bad nodes are never returned;
    /// with `onlyGoodAt` set, questionable nodes are left out too; with `family` set, only
    /// contacts of that address family are returned (BEP 32: `nodes` and `nodes6` are filled
    /// apart); with `onlyVerified`, only members that have answered one of our queries and have
    /// failed none since (what a node hands out to others, `spec/0004` §6.1).
    ///
    /// Cost: each bucket covers one contiguous range of distances from `target`, so the buckets
    /// are visited in order of distance (``bucketsByDistance(from:)``), each sorted on its own (at
    /// most k entries), and the walk stops once `count` contacts are found: one or two buckets for
    /// a reply of k contacts, never the whole table.
    public func closest(
        to target: NodeID, count: Int, onlyGoodAt now: Timestamp? = nil, family: Endpoint.Address.Family? = nil,
        onlyVerified: Bool = false
    ) -> [NodeContact] {
        closestMembers(to: target, count: count, onlyGoodAt: now, family: family, onlyVerified: onlyVerified).map(\.contact)
    }

    /// ``closest(to:count:onlyGoodAt:family:onlyVerified:)``'s members themselves, with what the
    /// table holds of each (its coordinate: `spec/0013` §4.2).
    public func closestMembers(
        to target: NodeID, count: Int, onlyGoodAt now: Timestamp? = nil, family: Endpoint.Address.Family? = nil,
        onlyVerified: Bool = false
    ) -> [Entry] {
        guard count > 0 else { return [] }
        var result: [Entry] = []
        result.reserveCapacity(Swift.min(count, self.count))
        // Each bucket's usable members are sorted by distance in a scratch buffer on the stack
        // (distance, position in the bucket), then the nearest still wanted are appended.
        let widest = buckets.reduce(0) { Swift.max($0, $1.entries.count) }
        withUnsafeTemporaryAllocation(of: (distance: NodeID, member: Int).self, capacity: widest) { scratch in
            bucketsByDistance(from: target) { index in
                let entries = buckets[index].entries
                var filled = 0
                for member in entries.indices where isUsable(entries[member], now: now) {
                    if let family, entries[member].endpoint.address.family != family { continue }
                    if onlyVerified, entries[member].lastResponse == nil || entries[member].failures > 0 { continue }
                    let distance = entries[member].id ^ target
                    var position = filled
                    while position > 0, distance < scratch[position - 1].distance {
                        scratch[position] = scratch[position - 1]
                        position -= 1
                    }
                    scratch[position] = (distance, member)
                    filled += 1
                }
                for slot in 0..<Swift.min(filled, count - result.count) { result.append(entries[scratch[slot].member]) }
                return result.count < count
            }
        }
        return result
    }

    /// Calls `visit` with each bucket index in order of distance from `target`, nearest first,
    /// until it returns `false`. Every id in an earlier bucket is closer to `target` than every
    /// id in a later one.
    ///
    /// With `d = ownID ^ target` and `c` the bits they share: bucket `c` holds the ids closest to
    /// the target (they share more than `c` bits with it). The deeper buckets `j > c` hold
    /// distances that start with `d`'s first `j` bits and then `¬d[j]`, so bucket `j` is nearer
    /// than every deeper bucket when `d[j]` is 1 and farther when it is 0: the walk takes them in
    /// ascending order where `d[j]` is 1, then the last bucket, then descending where `d[j]` is
    /// 0. The shallower buckets `i < c` follow from `c − 1` down to 0 (their distances start at
    /// bit `i`).
    func bucketsByDistance(from target: NodeID, _ visit: (Int) -> Bool) {
        let last = buckets.count - 1
        let toTarget = ownID ^ target
        let shared = toTarget.leadingZeroBitCount
        guard visit(Swift.min(shared, last)) else { return }
        if shared < last {
            for index in (shared + 1)..<last where toTarget.bit(index) {
                guard visit(index) else { return }
            }
            guard visit(last) else { return }
            for index in ((shared + 1)..<last).reversed() where !toTarget.bit(index) {
                guard visit(index) else { return }
            }
        }
        for index in stride(from: Swift.min(shared, last) - 1, through: 0, by: -1) {
            guard visit(index) else { return }
        }
    }

    private func isUsable(_ entry: Entry, now: Timestamp?) -> Bool {
        if let now { return entry.state(now: now, configuration: configuration) == .good }
        return Int(entry.failures) < configuration.maxFailures
    }
}
