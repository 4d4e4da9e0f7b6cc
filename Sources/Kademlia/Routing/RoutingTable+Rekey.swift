extension RoutingTable {
    /// The same members and candidates, kept by their distance from `newID`: the table of a node
    /// that takes a new id, as one does on learning its public address (BEP 42, "Bootstrapping";
    /// `spec/0004-dht-routing.md` §6).
    ///
    /// Every entry keeps its times and its failures. Members are placed most recently seen
    /// first; one whose new bucket is full (and cannot split) waits as a candidate there, as do
    /// the old candidates. An entry carrying `newID` itself is dropped, and eviction pings
    /// under way are forgotten (the buckets they were for are gone).
    public func rekeyed(to newID: NodeID, now: Timestamp) -> RoutingTable {
        var table = RoutingTable(ownID: newID, configuration: configuration, now: now)
        for entry in buckets.flatMap(\.entries).sorted(by: { $0.lastSeen > $1.lastSeen }) where entry.id != newID {
            var entry = entry
            entry.isBeingPinged = false
            table.place(entry, now: now)
        }
        for entry in buckets.flatMap(\.replacements) where entry.id != newID {
            let index = table.bucketIndex(for: entry.id)
            if table.buckets[index].index(of: entry.id) == nil { table.cache(entry, in: index) }
        }
        return table
    }

    /// Puts an entry of another table where it belongs in this one, within the address limits.
    private mutating func place(_ entry: Entry, now: Timestamp) {
        while true {
            let index = bucketIndex(for: entry.id)
            guard buckets[index].index(of: entry.id) == nil, diversityRejection(of: entry.endpoint.address, in: buckets[index]) == nil else {
                return
            }
            if buckets[index].entries.count < configuration.bucketSize {
                insert(entry, into: index, now: now)
                return
            }
            guard index == buckets.count - 1, buckets.count < NodeID.bitCount else {
                cache(entry, in: index)
                return
            }
            splitLastBucket(now: now)
        }
    }
}
