extension RoutingTable {
    /// Checks the table after a mutation that touched bucket `index`, in debug builds only (in the
    /// style of swift-collections' `_checkInvariants`): that bucket in depth, the rest of the table
    /// in the cheap global terms (bucket count, `count`). Compiled out of release builds.
    @inline(__always)
    func _checkInvariants(touching index: Int) {
        #if DEBUG
        _checkBucket(Swift.min(index, buckets.count - 1))
        _checkGlobal()
        #endif
    }

    /// Checks every bucket in depth (see ``_checkBucket(_:)``) and the global counts.
    func _checkInvariants() {
        for index in buckets.indices { _checkBucket(index) }
        _checkGlobal()
    }

    /// The global invariants: 1…160 buckets and `count` equal to the number of members.
    func _checkGlobal() {
        precondition(!buckets.isEmpty && buckets.count <= NodeID.bitCount, "bucket count out of range")
        var members = 0
        for bucket in buckets { members += bucket.entries.count }
        precondition(members == count, "count out of step")
    }

    /// The invariants of bucket `index`: its range is the one its position implies (bucket `i`
    /// covers the ids sharing exactly `i` leading bits with ours, the last those sharing at least
    /// its depth — so the buckets tile the id space); at most k members and at most the cache size
    /// of candidates; each lies in the range, none is our own id, none appears twice; an
    /// outstanding ping is marked on exactly one member and never on a candidate.
    func _checkBucket(_ index: Int) {
        let bucket = buckets[index]
        let isLast = index == buckets.count - 1
        let expected = isLast ? ownID.keepingLeadingBits(index) : (ownID ^ NodeID.onlyBit(index)).keepingLeadingBits(index + 1)
        precondition(bucket.prefixLength == (isLast ? index : index + 1) && bucket.prefix == expected, "bucket has the wrong range")
        precondition(bucket.entries.count <= configuration.bucketSize, "bucket over capacity")
        precondition(bucket.replacements.count <= configuration.replacementCacheSize, "cache over capacity")
        var pinged = 0
        for (position, entry) in bucket.entries.enumerated() {
            checkStored(entry.id, in: bucket)
            if entry.isBeingPinged { pinged += 1 }
            for other in bucket.entries[..<position] { precondition(other.id != entry.id, "id stored twice") }
        }
        for (position, entry) in bucket.replacements.enumerated() {
            checkStored(entry.id, in: bucket)
            precondition(!entry.isBeingPinged, "candidate marked as pinged")
            for other in bucket.replacements[..<position] { precondition(other.id != entry.id, "id stored twice") }
            for member in bucket.entries { precondition(member.id != entry.id, "member also a candidate") }
        }
        precondition(pinged == (bucket.pingRequestedAt == nil ? 0 : 1), "ping bookkeeping out of step")
    }

    private func checkStored(_ id: NodeID, in bucket: Bucket) {
        precondition(id != ownID, "own id stored")
        precondition(bucket.covers(id), "id outside its bucket")
    }
}
