extension RoutingTable {
    /// Up to `count` members closest to `target` in the XOR metric, nearest first (the answer to a
    /// BEP 5 `find_node`, and the start of a lookup; paper §2.3). Bad nodes are never returned;
    /// with `onlyGoodAt` set, questionable nodes are left out too.
    ///
    /// Cost: the buckets are visited in order of distance without sorting the table. For a target
    /// sharing `c` leading bits with our id, bucket `c` holds the ids sharing more than `c` bits
    /// with the target, the deeper buckets together those sharing exactly `c`, and each shallower
    /// bucket `i` those sharing exactly `i`. Each group is sorted on its own (at most k entries,
    /// except the deeper group) and the walk stops once `count` contacts are found.
    public func closest(to target: NodeID, count: Int, onlyGoodAt now: Timestamp? = nil) -> [NodeContact] {
        guard count > 0 else { return [] }
        var result: [NodeContact] = []
        result.reserveCapacity(Swift.min(count, self.count))
        // Each contact with its distance, computed once rather than in every comparison.
        var group: [(distance: NodeID, contact: NodeContact)] = []
        func take(_ range: ClosedRange<Int>) {
            guard result.count < count else { return }
            group.removeAll(keepingCapacity: true)
            for index in range {
                for entry in buckets[index].entries where isUsable(entry, now: now) {
                    group.append((entry.contact.id ^ target, entry.contact))
                }
            }
            if group.count > 1 { group.sort { $0.distance < $1.distance } }
            for member in group.prefix(count - result.count) { result.append(member.contact) }
        }
        let last = buckets.count - 1
        let shared = target.commonPrefixLength(with: ownID)
        if shared >= last {
            take(last...last)
        } else {
            take(shared...shared)
            take((shared + 1)...last)
        }
        var index = Swift.min(shared, last) - 1
        while index >= 0, result.count < count {
            take(index...index)
            index -= 1
        }
        return result
    }

    private func isUsable(_ entry: Entry, now: Timestamp?) -> Bool {
        if let now { return entry.state(now: now, configuration: configuration) == .good }
        return Int(entry.failures) < configuration.maxFailures
    }
}
