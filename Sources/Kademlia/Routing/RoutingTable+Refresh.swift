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

    /// Whether the bucket whose range holds `id` has no room left (``Configuration/bucketSize``
    /// members; replacement candidates not counted).
    public func isBucketFull(holding id: NodeID) -> Bool {
        buckets[bucketIndex(for: id)].entries.count >= configuration.bucketSize
    }

    /// Marks bucket `index` as refreshed at `now` (its refresh lookup has been started or done),
    /// so ``bucketsNeedingRefresh(now:)`` leaves it out for another interval.
    public mutating func refreshed(bucket index: Int, now: Timestamp) {
        precondition(buckets.indices.contains(index), "no such bucket")
        buckets[index].lastChanged = Swift.max(buckets[index].lastChanged, now)
        _checkInvariants(touching: index)
    }
}

extension RoutingTable {
    /// The member a liveness check pings next (`spec/0004-dht-routing.md` §5.3): one that has
    /// never answered us (a candidate heard only through its query that took a free slot), else
    /// the one heard from least recently if it has been quiet for at least `quietFor`; never a
    /// bad one, nor one in a bucket with a ping outstanding. Under churn most sessions are short,
    /// so a member unheard for minutes has often left: finding out before a lookup asks it saves
    /// that lookup a timeout, and lets a waiting candidate take the slot. A member that never
    /// answered is not handed out to others until it does.
    public func leastRecentlySeen(quietFor: Duration, now: Timestamp) -> NodeContact? {
        var chosen: Entry?
        var chosenSeen = Timestamp.max
        for bucket in buckets where bucket.pingRequestedAt == nil {
            for entry in bucket.entries where Int(entry.failures) < configuration.maxFailures {
                let seen = entry.lastResponse == nil ? Timestamp.zero : entry.lastSeen
                if seen < chosenSeen || chosen == nil {
                    chosen = entry
                    chosenSeen = seen
                }
            }
        }
        guard let chosen, chosen.lastResponse == nil || now - chosen.lastSeen >= quietFor else { return nil }
        return chosen.contact
    }
}
