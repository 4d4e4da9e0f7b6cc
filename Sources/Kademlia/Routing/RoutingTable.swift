import Coordinates
/// A Kademlia routing table with the bucket rules of BEP 5: k-buckets of contacts kept by XOR
/// distance from our own id (Maymounkov & Mazières 2002, §2.2), a replacement cache per bucket
/// (§4.1), and the good / questionable / bad node states of BEP 5.
///
/// The table is a sans-I/O value: it never sends anything. Every event carries `now`, and when the
/// table needs the network — to ping a questionable node before evicting it — it says so in its
/// return value and the driver reports the result with ``heardFrom(_:kind:now:)`` or
/// ``failed(_:now:)``.
///
/// Layout: the table starts with one bucket covering the whole id space. When a full bucket must
/// take a newcomer it splits in two, but only if it covers our own id (BEP 5), so bucket `i`
/// holds the ids sharing exactly `i` leading bits with ours and the last bucket holds those sharing
/// at least `buckets.count - 1`. Finding a bucket is a leading-zero count, and finding a node a
/// scan of at most k entries.
///
/// Deviations:
/// - The paper's relaxed split (§4.2: also split a bucket not covering our id while it lies within
///   our k closest) is not implemented; BEP 5's rule keeps the layout a flat array. Nodes near us
///   that do not fit wait in the replacement cache.
/// - BEP 5 discards a newcomer when the bucket is full of good nodes; Potluck keeps it in the
///   replacement cache, as libtorrent does.
/// - Only a node that *answered* us can make the table ask for a ping or enter a full bucket by
///   eviction of a questionable node; a node heard only through a query (which anyone can forge)
///   takes free slots and the replacement cache, and replaces only bad nodes.
/// - An id already in the table is never moved to another endpoint (anti-spoofing: a forged packet
///   could otherwise redirect traffic for a good node). It must go bad and be replaced first.
/// - A questionable node whose eviction ping fails is replaced at once if a candidate waits: its
///   silence for ``Configuration/questionableAfter`` plus the failed ping stand in for BEP 5's
///   "try once more". Other nodes go bad after ``Configuration/maxFailures`` failures in a row.
/// - BEP 5 does not say whether a query resets the failure count; here only a response does.
public struct RoutingTable: Sendable {
    /// Our own node id; every distance is measured from it.
    public let ownID: NodeID
    /// The tunables the table was created with.
    public let configuration: Configuration
    /// The buckets, from the farthest (`buckets[0]`, ids differing from ours in the first bit) to
    /// the one covering our own id (`buckets.last`). Together they tile the id space.
    public internal(set) var buckets: [Bucket]
    /// The number of contacts in the table (replacement candidates not counted).
    public internal(set) var count: Int
    /// Changes whenever the members ``closest(to:count:onlyGoodAt:family:onlyVerified:)`` may
    /// return without `onlyGoodAt` change: a member added, removed or replaced, verified, failing
    /// a first query, going bad, or coming back.
    /// Equal generations give equal answers, so a node may keep its last reply's contacts.
    public internal(set) var generation: UInt64 = 0
    /// Members per public /24 or /64 (``Configuration/maxPerPrefix``).
    var blockCounts: [AddressBlock: Int] = [:]
    /// Public addresses barred to newcomers, and until when (``Configuration/addressPenalty``).
    var barred: [Endpoint.Address: Timestamp] = [:]

    /// An empty table: one bucket covering the whole id space, changed at `now`.
    public init(ownID: NodeID, configuration: Configuration = Configuration(), now: Timestamp = .zero) {
        self.ownID = ownID
        self.configuration = configuration
        self.buckets = [Bucket(prefix: .zero, prefixLength: 0, now: now)]
        self.count = 0
        _checkInvariants(touching: 0)
    }

    /// The index in ``buckets`` of the bucket whose range holds `id`.
    public func bucketIndex(for id: NodeID) -> Int {
        Swift.min(id.commonPrefixLength(with: ownID), buckets.count - 1)
    }

    /// Whether `id` is in the table (replacement candidates are not).
    public func contains(_ id: NodeID) -> Bool {
        buckets[bucketIndex(for: id)].index(of: id) != nil
    }

    /// The table's record of `id`, if it is a member.
    public func entry(for id: NodeID) -> Entry? {
        let bucket = buckets[bucketIndex(for: id)]
        return bucket.index(of: id).map { bucket.entries[$0] }
    }

    /// The state of member `id` at `now`, or `nil` if it is not in the table.
    public func state(of id: NodeID, now: Timestamp) -> NodeState? {
        entry(for: id)?.state(now: now, configuration: configuration)
    }

    /// Every member's contact, bucket by bucket (for persisting the table across restarts).
    public var allContacts: [NodeContact] {
        buckets.flatMap { $0.entries.map(\.contact) }
    }

    /// Records that `contact` answered a query of ours (`.response`) or queried us (`.query`) and
    /// adds it to the table if it belongs there (BEP 5, "Routing Table").
    ///
    /// Into a full bucket that cannot split, a newcomer replaces a bad member at once. Otherwise,
    /// if the newcomer has answered us and the bucket has questionable members, it is cached and
    /// the outcome asks the driver to ping the least recently seen of them; if that ping fails
    /// (``failed(_:now:)``) the newcomer takes its place. Otherwise it is cached.
    @discardableResult
    ///
    /// A known `coordinate` (the sender's `plc`, packed) replaces the one the member held.
    public mutating func heardFrom(_ contact: NodeContact, kind: Contact, now: Timestamp,
                                   coordinate: PackedCoordinate = .unknown) -> InsertOutcome {
        defer { _checkInvariants(touching: bucketIndex(for: contact.id)) }
        if let reason = rejection(of: contact) { return .rejected(reason) }
        while true {
            let index = bucketIndex(for: contact.id)
            if let member = buckets[index].index(of: contact.id) {
                // The id at another endpoint: the recorded one is kept (anti-spoofing).
                guard buckets[index].entries[member].endpoint == contact.endpoint else { return .rejected(.endpointMismatch) }
                if coordinate.isKnown { buckets[index].entries[member].coordinate = coordinate }
                return update(bucket: index, member: member, with: contact, kind: kind, now: now)
            }
            if isBarred(contact.endpoint.address, now: now) { return .rejected(.addressBarred) }
            if let stale = staleMember(at: contact.endpoint.address, in: buckets[index]) {
                replace(member: stale, in: index, with: Entry(contact: contact, kind: kind, now: now, coordinate: coordinate), now: now)
                return .added
            }
            if let reason = diversityRejection(of: contact.endpoint.address, in: buckets[index]) { return .rejected(reason) }
            if buckets[index].entries.count < configuration.bucketSize {
                insert(Entry(contact: contact, kind: kind, now: now, coordinate: coordinate), into: index, now: now)
                return .added
            }
            guard index == buckets.count - 1, buckets.count < NodeID.bitCount else {
                return insertIntoFull(bucket: index, Entry(contact: contact, kind: kind, now: now, coordinate: coordinate), now: now)
            }
            splitLastBucket(now: now)
        }
    }

    /// Whether `contact`, heard now, would enter the table at once: it is there, its bucket has
    /// room, or its bucket is the one that splits; not when it would only wait as a replacement
    /// or be refused. Only such queriers are dialled back (`spec/0021-reachability.md` §4.1).
    public func hasRoom(for contact: NodeContact, now: Timestamp) -> Bool {
        guard rejection(of: contact) == nil else { return false }
        let index = bucketIndex(for: contact.id)
        if buckets[index].index(of: contact.id) != nil { return true }
        if isBarred(contact.endpoint.address, now: now) { return false }
        if staleMember(at: contact.endpoint.address, in: buckets[index]) != nil { return true }
        guard diversityRejection(of: contact.endpoint.address, in: buckets[index]) == nil else { return false }
        return buckets[index].entries.count < configuration.bucketSize || (index == buckets.count - 1 && buckets.count < NodeID.bitCount)
    }

    /// Records that `id` did not answer a query in time (BEP 5). A node being pinged for eviction
    /// is replaced at once by a waiting candidate; any other node is replaced when it has become
    /// bad and a candidate waits. A replacement candidate that fails is forgotten.
    @discardableResult
    public mutating func failed(_ id: NodeID, now: Timestamp) -> FailureOutcome {
        defer { _checkInvariants(touching: bucketIndex(for: id)) }
        let index = bucketIndex(for: id)
        guard let member = buckets[index].index(of: id) else {
            guard let candidate = buckets[index].replacementIndex(of: id) else { return .unknown }
            buckets[index].replacements.remove(at: candidate)
            return .droppedFromCache
        }
        var entry = buckets[index].entries[member]
        let wasPinged = entry.isBeingPinged
        entry.failures = entry.failures == .max ? .max : entry.failures + 1
        entry.isBeingPinged = false
        buckets[index].entries[member] = entry
        // It is no longer handed out (a first failure) or no longer used at all (gone bad).
        if entry.failures == 1 || Int(entry.failures) == configuration.maxFailures { generation &+= 1 }
        if wasPinged { buckets[index].pingRequestedAt = nil }
        let isBad = entry.state(now: now, configuration: configuration) == .bad
        if Int(entry.failures) == configuration.maxFailures { bar(entry.endpoint.address, now: now) }
        guard wasPinged || isBad, let promoted = promoteReplacement(in: index, over: member, now: now) else {
            return .recorded
        }
        return .replaced(promoted: promoted)
    }

    /// Removes `id` from the table (promoting a replacement candidate into its slot) or from a
    /// replacement cache. Returns whether it was found.
    @discardableResult
    public mutating func remove(_ id: NodeID, now: Timestamp) -> Bool {
        defer { _checkInvariants(touching: bucketIndex(for: id)) }
        let index = bucketIndex(for: id)
        if let member = buckets[index].index(of: id) {
            if promoteReplacement(in: index, over: member, now: now) == nil {
                if buckets[index].entries[member].isBeingPinged { buckets[index].pingRequestedAt = nil }
                left(buckets[index].entries.remove(at: member))
                count -= 1
                generation &+= 1
            }
            return true
        }
        guard let candidate = buckets[index].replacementIndex(of: id) else { return false }
        buckets[index].replacements.remove(at: candidate)
        return true
    }

    // MARK: - Insertion steps

    private func rejection(of contact: NodeContact) -> RejectReason? {
        if contact.id == ownID { return .ownID }
        let unspecified = switch contact.endpoint.address {
        case .v4(let ip): ip == 0
        case .v6(let high, let low): high == 0 && low == 0
        }
        if contact.endpoint.port == 0 || unspecified { return .unusableEndpoint }
        if configuration.enforceNodeIDs, !NodeIDSecurity.isValid(contact.id, for: contact.endpoint.address) {
            return .nonCompliantID
        }
        return nil
    }

    private mutating func update(bucket index: Int, member: Int, with contact: NodeContact, kind: Contact, now: Timestamp) -> InsertOutcome {
        if kind == .response, buckets[index].entries[member].failures > 0 || buckets[index].entries[member].lastResponse == nil {
            generation &+= 1  // a failing member answers (usable again), or one answers for the first time (verified)
        }
        buckets[index].entries[member].record(kind, now: now)
        guard kind == .response else { return .updated }
        buckets[index].lastChanged = now
        guard buckets[index].entries[member].isBeingPinged else { return .updated }
        // It survived the eviction ping: BEP 5 then pings the next questionable node, if a
        // candidate is still waiting.
        buckets[index].entries[member].isBeingPinged = false
        buckets[index].pingRequestedAt = nil
        return requestPing(in: index, now: now).map { .pending(pingThis: $0) } ?? .updated
    }

    mutating func insert(_ entry: Entry, into index: Int, now: Timestamp) {
        buckets[index].entries.append(entry, upTo: configuration.bucketSize)
        joined(entry)
        buckets[index].lastChanged = now
        count += 1
        generation &+= 1
        if let candidate = buckets[index].replacementIndex(of: entry.id) {
            buckets[index].replacements.remove(at: candidate)
        }
    }

    private mutating func insertIntoFull(bucket index: Int, _ entry: Entry, now: Timestamp) -> InsertOutcome {
        if let bad = buckets[index].entries.firstIndex(where: { $0.state(now: now, configuration: configuration) == .bad }) {
            replace(member: bad, in: index, with: entry, now: now)
            return .added
        }
        guard configuration.replacementCacheSize > 0 else { return .rejected(.bucketFull) }
        cache(entry, in: index)
        if entry.lastResponse != nil, let target = requestPing(in: index, now: now) {
            return .pending(pingThis: target)
        }
        return .replacementCached
    }

    /// Puts `entry` in slot `member` of bucket `index`, in place of the (bad) node there.
    private mutating func replace(member: Int, in index: Int, with entry: Entry, now: Timestamp) {
        if buckets[index].entries[member].isBeingPinged { buckets[index].pingRequestedAt = nil }
        left(buckets[index].entries[member])
        joined(entry)
        buckets[index].entries[member] = entry
        buckets[index].lastChanged = now
        generation &+= 1
        if let candidate = buckets[index].replacementIndex(of: entry.id) {
            buckets[index].replacements.remove(at: candidate)
        }
    }

    /// Chooses the least recently seen questionable member to ping, unless a ping is already
    /// outstanding (and not yet timed out) or no candidate waits.
    private mutating func requestPing(in index: Int, now: Timestamp) -> NodeContact? {
        if let asked = buckets[index].pingRequestedAt {
            guard now - asked >= configuration.pingTimeout else { return nil }
            for member in buckets[index].entries.indices { buckets[index].entries[member].isBeingPinged = false }
            buckets[index].pingRequestedAt = nil
        }
        guard !buckets[index].replacements.isEmpty else { return nil }
        var chosen: Int?
        for (member, entry) in buckets[index].entries.enumerated()
        where entry.state(now: now, configuration: configuration) == .questionable {
            if chosen.map({ entry.lastSeen < buckets[index].entries[$0].lastSeen }) ?? true { chosen = member }
        }
        guard let chosen else { return nil }
        buckets[index].entries[chosen].isBeingPinged = true
        buckets[index].pingRequestedAt = now
        return buckets[index].entries[chosen].contact
    }

    /// Puts `entry` in bucket `index`'s replacement cache as its most recent candidate, dropping
    /// the oldest when the cache is full. A candidate heard again moves to the end and takes the
    /// newer endpoint (candidates are unverified either way).
    mutating func cache(_ entry: Entry, in index: Int) {
        var entry = entry
        if let old = buckets[index].replacementIndex(of: entry.id) {
            let previous = buckets[index].replacements.remove(at: old)
            if entry.lastResponse == nil { entry.lastResponse = previous.lastResponse }
            if entry.lastQuery == nil { entry.lastQuery = previous.lastQuery }
        }
        if buckets[index].replacements.count >= configuration.replacementCacheSize {
            buckets[index].replacements.removeFirst()
        }
        buckets[index].replacements.append(entry, upTo: configuration.replacementCacheSize)
    }

    /// Moves the best candidate — the most recent one that has answered us, else the most recent —
    /// into slot `member`, dropping the node there. `nil` (and no change) if the cache is empty.
    private mutating func promoteReplacement(in index: Int, over member: Int, now: Timestamp) -> NodeContact? {
        guard let pick = pickReplacement(in: buckets[index], replacing: member) else { return nil }
        if buckets[index].entries[member].isBeingPinged { buckets[index].pingRequestedAt = nil }
        let promoted = buckets[index].replacements.remove(at: pick)
        left(buckets[index].entries[member])
        joined(promoted)
        buckets[index].entries[member] = promoted
        buckets[index].lastChanged = now
        generation &+= 1
        return promoted.contact
    }
}
