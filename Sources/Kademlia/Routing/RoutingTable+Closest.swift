extension RoutingTable {
    /// Up to `count` members closest to `target` in the XOR metric, nearest first (the answer to a
    /// BEP 5 `find_node`, and the start of a lookup; paper §2.3). Bad nodes are never returned;
    /// with `onlyGoodAt` set, questionable nodes are left out too; with `family` set, only
    /// contacts of that address family are returned (BEP 32: `nodes` and `nodes6` are filled
    /// apart).
    ///
    /// Cost: the buckets are visited in order of distance without sorting the table. For a target
    /// sharing `c` leading bits with our id, bucket `c` holds the ids sharing more than `c` bits
    /// with the target, the deeper buckets together those sharing exactly `c`, and each shallower
    /// bucket `i` those sharing exactly `i`. Each group is sorted on its own (at most k entries,
    /// except the deeper group) and the walk stops once `count` contacts are found.
    public func closest(
        to target: NodeID, count: Int, onlyGoodAt now: Timestamp? = nil, family: Endpoint.Address.Family? = nil
    ) -> [NodeContact] {
        guard count > 0 else { return [] }
        var result: [NodeContact] = []
        result.reserveCapacity(Swift.min(count, self.count))
        // Each group is sorted by insertion at the end of `result` (from `start` on), keeping only
        // as many as are still wanted (the deeper group can be most of the table); ties keep
        // table order, as a stable sort would.
        func take(_ range: ClosedRange<Int>) {
            let start = result.count
            let wanted = count - start
            guard wanted > 0 else { return }
            for index in range {
                for entry in buckets[index].entries where isUsable(entry, now: now) {
                    if let family, entry.contact.endpoint.address.family != family { continue }
                    let distance = entry.contact.id ^ target
                    if result.count - start == wanted {
                        guard distance < result[result.count - 1].id ^ target else { continue }
                        result.removeLast()
                    }
                    var position = result.count
                    while position > start, distance < result[position - 1].id ^ target { position -= 1 }
                    result.insert(entry.contact, at: position)
                }
            }
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
