extension RoutingTable {
    /// Splits the last bucket (the one covering our own id) in two (BEP 5): the members and
    /// candidates whose next bit differs from ours stay at this depth in a bucket of their own, the
    /// rest move one level deeper into the new last bucket. Free slots on either side are then
    /// filled from that side's replacement cache.
    mutating func splitLastBucket(now: Timestamp) {
        let depth = buckets.count - 1
        precondition(depth + 1 < NodeID.bitCount, "cannot split below the last bit")
        let old = buckets.removeLast()
        generation &+= 1  // replacement candidates may become members
        var far = Bucket(prefix: (ownID ^ NodeID.onlyBit(depth)).keepingLeadingBits(depth + 1), prefixLength: depth + 1, now: old.lastChanged)
        var near = Bucket(prefix: ownID.keepingLeadingBits(depth + 1), prefixLength: depth + 1, now: old.lastChanged)
        for entry in old.entries {
            if far.covers(entry.id) { far.entries.append(entry, upTo: configuration.bucketSize) } else { near.entries.append(entry, upTo: configuration.bucketSize) }
        }
        for entry in old.replacements {
            let limit = configuration.replacementCacheSize
            if far.covers(entry.id) { far.replacements.append(entry, upTo: limit) } else { near.replacements.append(entry, upTo: limit) }
        }
        if old.pingRequestedAt != nil {
            if far.entries.contains(where: \.isBeingPinged) { far.pingRequestedAt = old.pingRequestedAt }
            if near.entries.contains(where: \.isBeingPinged) { near.pingRequestedAt = old.pingRequestedAt }
        }
        for side in [far, near] {
            var bucket = side
            while bucket.entries.count < configuration.bucketSize {
                guard let pick = pickReplacement(in: bucket) else { break }
                let promoted = bucket.replacements.remove(at: pick)
                bucket.entries.append(promoted, upTo: configuration.bucketSize)
                joined(promoted)
                bucket.lastChanged = now
                count += 1
            }
            buckets.append(bucket)
        }
        _checkInvariants(touching: depth)
        _checkInvariants(touching: depth + 1)
    }
}

extension NodeID {
    /// `self` with all but the first `bits` bits cleared.
    func keepingLeadingBits(_ bits: Int) -> NodeID {
        let mask = NodeID.mask(leadingBits: bits)
        return NodeID(high: high & mask.high, middle: middle & mask.middle, low: low & mask.low)
    }

    /// The id with only bit `index` set (0 is the most significant).
    static func onlyBit(_ index: Int) -> NodeID {
        NodeID.mask(leadingBits: index + 1) ^ NodeID.mask(leadingBits: index)
    }
}

extension Array where Element == RoutingTable.Entry {
    /// Appends `entry` to a list that never holds more than `limit`, growing its storage by
    /// doubling but never past `limit`: a plain append would leave a full bucket of 20 with
    /// room for 32 (a third of a routing table's memory).
    mutating func append(_ entry: Element, upTo limit: Int) {
        if count == capacity { reserveCapacity(Swift.min(Swift.max(2 * count, 1), Swift.max(limit, count + 1))) }
        append(entry)
    }
}
