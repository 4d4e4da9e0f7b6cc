extension RoutingTable {
    /// Checks the table's structure in debug builds (after every mutation, in the style of
    /// swift-collections); compiled out of release builds.
    @inline(__always)
    func _checkInvariants() {
        #if DEBUG
        _checkInvariantsNow()
        #endif
    }

    /// Checks, always: the buckets tile the id space (bucket `i` covers the ids sharing exactly `i`
    /// leading bits with ours, the last those sharing at least as many as its depth); no bucket
    /// holds more than k members or more candidates than the cache allows; each member and
    /// candidate lies in its bucket's range; no id appears twice; our own id is never stored;
    /// `count` is the number of members; an outstanding ping is marked on exactly one member.
    func _checkInvariantsNow() {
        precondition(!buckets.isEmpty && buckets.count <= NodeID.bitCount, "bucket count out of range")
        var members = 0
        for (index, bucket) in buckets.enumerated() {
            let isLast = index == buckets.count - 1
            let expected = isLast ? ownID.mask(to: index) : (ownID ^ NodeID.singleBit(index)).mask(to: index + 1)
            precondition(bucket.prefixLength == (isLast ? index : index + 1) && bucket.prefix == expected, "bucket \(index) has the wrong range")
            precondition(bucket.entries.count <= configuration.bucketSize, "bucket \(index) over capacity")
            precondition(bucket.replacements.count <= configuration.replacementCacheSize, "cache \(index) over capacity")
            let ids = bucket.entries.map(\.contact.id) + bucket.replacements.map(\.contact.id)
            for (position, id) in ids.enumerated() {
                precondition(id != ownID, "own id stored")
                precondition(bucket.covers(id), "id outside its bucket")
                precondition(!ids[..<position].contains(id), "id stored twice")
            }
            let pinged = bucket.entries.count(where: \.isBeingPinged)
            precondition(pinged == (bucket.pingRequestedAt == nil ? 0 : 1), "ping bookkeeping out of step")
            precondition(!bucket.replacements.contains(where: \.isBeingPinged), "candidate marked as pinged")
            members += bucket.entries.count
        }
        precondition(members == count, "count out of step")
    }
}
