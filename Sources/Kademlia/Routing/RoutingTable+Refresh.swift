extension RoutingTable {
    /// The indices of the buckets that have not changed for ``Configuration/refreshInterval``
    /// (BEP 5: "Buckets that have not been changed in 15 minutes should be 'refreshed'"; the
    /// paper's hourly bucket refresh, §2.3). For each, the driver looks up
    /// ``refreshTarget(forBucket:using:)`` and then calls ``refreshed(bucket:now:)``.
    public func bucketsNeedingRefresh(now: Timestamp) -> [Int] {
        buckets.indices.filter { now - buckets[$0].lastChanged >= configuration.refreshInterval }
    }

    /// A uniformly random id in the range of bucket `index`: the target of its refresh lookup.
    public func refreshTarget(forBucket index: Int, using random: inout some RandomNumberGenerator) -> NodeID {
        let bucket = buckets[index]
        let noise = NodeID.random(using: &random)
        let keep = NodeID.mask(leadingBits: bucket.prefixLength)
        return NodeID(
            high: bucket.prefix.high | (noise.high & ~keep.high),
            middle: bucket.prefix.middle | (noise.middle & ~keep.middle),
            low: bucket.prefix.low | (noise.low & ~keep.low))
    }

    /// Marks bucket `index` as refreshed at `now` (its refresh lookup has been started or done),
    /// so ``bucketsNeedingRefresh(now:)`` leaves it out for another interval.
    public mutating func refreshed(bucket index: Int, now: Timestamp) {
        precondition(buckets.indices.contains(index), "no such bucket")
        buckets[index].lastChanged = Swift.max(buckets[index].lastChanged, now)
        _checkInvariants(touching: index)
    }
}
