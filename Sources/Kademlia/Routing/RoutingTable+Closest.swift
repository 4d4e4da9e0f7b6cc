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
        // The nearest members of a group so far, nearest first, each with its distance computed
        // once. Only as many as are still wanted are kept (the deeper group can be most of the
        // table), by insertion; ties keep table order, as a stable sort would.
        var group: [(distance: NodeID, contact: NodeContact)] = []
        group.reserveCapacity(Swift.min(count, self.count))
        func take(_ range: ClosedRange<Int>) {
            let wanted = count - result.count
            guard wanted > 0 else { return }
            group.removeAll(keepingCapacity: true)
            for index in range {
                for entry in buckets[index].entries where isUsable(entry, now: now) {
                    if let family, entry.contact.endpoint.address.family != family { continue }
                    let distance = entry.contact.id ^ target
                    if group.count == wanted {
                        guard let worst = group.last, distance < worst.distance else { continue }
                        group.removeLast()
                    }
                    var position = group.count
                    while position > 0, distance < group[position - 1].distance { position -= 1 }
                    group.insert((distance, entry.contact), at: position)
                }
            }
            for member in group { result.append(member.contact) }
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
