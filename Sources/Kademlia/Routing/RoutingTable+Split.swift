extension RoutingTable {
    /// Splits the last bucket (the one covering our own id) in two (BEP 5): the members and
    /// candidates whose next bit differs from ours stay at this depth in a bucket of their own, the
    /// rest move one level deeper into the new last bucket. Free slots on either side are then
    /// filled from that side's replacement cache.
    mutating func splitLastBucket(now: Timestamp) {
        let depth = buckets.count - 1
        precondition(depth + 1 < NodeID.bitCount, "cannot split below the last bit")
        let old = buckets.removeLast()
        var far = Bucket(prefix: (ownID ^ NodeID.onlyBit(depth)).keepingLeadingBits(depth + 1), prefixLength: depth + 1, now: old.lastChanged)
        var near = Bucket(prefix: ownID.keepingLeadingBits(depth + 1), prefixLength: depth + 1, now: old.lastChanged)
        for entry in old.entries {
            if far.covers(entry.id) { far.entries.append(entry) } else { near.entries.append(entry) }
        }
        for entry in old.replacements {
            if far.covers(entry.id) { far.replacements.append(entry) } else { near.replacements.append(entry) }
        }
        if old.pingRequestedAt != nil {
            if far.entries.contains(where: \.isBeingPinged) { far.pingRequestedAt = old.pingRequestedAt }
            if near.entries.contains(where: \.isBeingPinged) { near.pingRequestedAt = old.pingRequestedAt }
        }
        for side in [far, near] {
            var bucket = side
            while bucket.entries.count < configuration.bucketSize, !bucket.replacements.isEmpty {
                let pick = bucket.replacements.lastIndex(where: { $0.lastResponse != nil }) ?? bucket.replacements.count - 1
                bucket.entries.append(bucket.replacements.remove(at: pick))
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
