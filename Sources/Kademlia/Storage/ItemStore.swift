import HeapModule

/// The BEP 44 items other nodes have put on this node, with the limits that keep it from being
/// used as free storage by one party (`spec/0006-dht-items.md`).
///
/// A pure value: every operation takes `now`, nothing reads a clock, and the same sequence of
/// calls gives the same results. The driver checks write tokens and decodes KRPC; this store
/// applies BEP 44's storage rules:
///
/// - sizes: `v` at most 1000 bytes (205), salt at most 64 bytes (207);
/// - mutable items: the signature must verify (206); if `cas` is given it must equal the
///   stored sequence number (301); a lower sequence number is refused (302); an equal one is a
///   refresh when the value is the same and refused (302) otherwise;
/// - lifetime: an item not put again within ``Configuration/itemLifetime`` expires, exactly at
///   `storedAt + itemLifetime`;
/// - bounds: ``Configuration/maxItemsPerAddress`` new items per address (202), and
///   ``Configuration/maxItems`` in total, evicting the item that would expire soonest.
///
/// Deviations: BEP 44 says a storing node MUST reject an equal sequence number and SHOULD reset
/// the timeout when the value is also the same; Potluck does exactly that. libtorrent instead
/// accepts any equal-sequence put as a refresh and keeps the stored value (its reply is a
/// success), so a Potluck node answers 302 where libtorrent answers success for an equal
/// sequence number with another value. libtorrent evicts by popularity and distance from its
/// id; Potluck evicts by expiry, with a per-address bound instead.
public struct ItemStore: Sendable {
    /// The bounds this store enforces.
    public let configuration: Configuration
    /// What it has done so far.
    public private(set) var counters = Counters()

    private var entries: [NodeID: StoredItem] = [:]
    private var perAddress: [Endpoint.Address: Int] = [:]
    /// Every (storedAt, target) ever scheduled; entries whose time no longer matches the stored
    /// item are stale and skipped (lazy deletion), and the heap is rebuilt when they pile up.
    private var deadlines = Heap<Deadline>()

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The number of items held (expired ones count until ``expire(now:)`` removes them).
    public var count: Int { entries.count }

    /// Every item held, sorted by target, for the driver to persist.
    public var allItems: [StoredItem] { entries.values.sorted { $0.item.target < $1.item.target } }

    /// How many held items count against `address` (its /64 for IPv6).
    public func count(from address: Endpoint.Address) -> Int { perAddress[Self.accountingKey(address)] ?? 0 }

    // MARK: Put

    /// Stores an immutable item put by `address` (BEP 44 `put` without `k`).
    @discardableResult
    public mutating func put(immutable item: ImmutableItem, from address: Endpoint.Address, now: Timestamp) throws(ItemError) -> PutOutcome {
        do throws(ItemError) {
            try item.validate()
            dropIfExpired(item.target, now: now)
            if let existing = entries[item.target] {
                guard case .immutable = existing.item else { throw ItemError.kindMismatch }
                refresh(item.target, to: now)
                counters.refreshed += 1
                return .refreshed
            }
            try insert(StoredItem(item: .immutable(item), storedAt: now, owner: address), now: now)
            counters.stored += 1
            return .stored
        } catch {
            counters.count(error)
            throw error
        }
    }

    /// Stores a mutable item put by `address` (BEP 44 `put` with `k`, `seq`, `sig`), checking
    /// its signature with `verifier` and, when `cas` is given, the stored sequence number.
    @discardableResult
    public mutating func put(
        mutable item: MutableItem, cas: Int64? = nil, from address: Endpoint.Address, now: Timestamp,
        verifier: SignatureVerifier
    ) throws(ItemError) -> PutOutcome {
        do throws(ItemError) {
            try item.validate(verifier: verifier)
            dropIfExpired(item.target, now: now)
            guard let existing = entries[item.target] else {
                // BEP 44 compares `cas` with the stored seq; with nothing stored there is nothing
                // to compare, and like libtorrent the put is accepted.
                try insert(StoredItem(item: .mutable(item), storedAt: now, owner: address), now: now)
                counters.stored += 1
                return .stored
            }
            guard case .mutable(let stored) = existing.item else { throw ItemError.kindMismatch }
            if let cas, cas != stored.sequence { throw ItemError.casMismatch(stored: stored.sequence, expected: cas) }
            let outcome = try Self.compare(item, with: stored)
            if outcome == .updated {
                entries[item.target]?.item = .mutable(item)
                counters.updated += 1
            } else {
                counters.refreshed += 1
            }
            refresh(item.target, to: now)
            return outcome
        } catch {
            counters.count(error)
            throw error
        }
    }

    /// Reloads an item the driver persisted, without checking its signature again (it was
    /// checked when it was put). Returns `false` when it is refused: malformed, older than the
    /// held version, or over the per-address limit. Expired items are removed by the next
    /// ``expire(now:)``.
    @discardableResult
    public mutating func restore(_ item: Item, storedAt: Timestamp, from owner: Endpoint.Address) -> Bool {
        do throws(ItemError) {
            switch item {
            case .immutable(let immutable): try immutable.validate()
            case .mutable(let mutable): try mutable.validate(verifier: .acceptAll)
            }
            guard let existing = entries[item.target] else {
                try insert(StoredItem(item: item, storedAt: storedAt, owner: owner), now: nil)
                return true
            }
            switch (existing.item, item) {
            case (.immutable, .immutable): break
            case (.mutable(let held), .mutable(let new)):
                if try Self.compare(new, with: held) == .updated { entries[item.target]?.item = item }
            default: return false
            }
            refresh(item.target, to: storedAt)
            return true
        } catch {
            return false
        }
    }

    /// Whether `new` replaces `stored` (`.updated`), refreshes it (`.refreshed`) or is refused.
    private static func compare(_ new: MutableItem, with stored: MutableItem) throws(ItemError) -> PutOutcome {
        if new.sequence > stored.sequence { return .updated }
        if new.sequence == stored.sequence && new.value == stored.value { return .refreshed }
        throw .sequenceTooOld(new.sequence, stored: stored.sequence)
    }

    // MARK: Get

    /// The item at `target`, unless there is none or it has expired by `now`.
    public func get(_ target: NodeID, now: Timestamp) -> Item? {
        guard let entry = entries[target], !isExpired(entry, now: now) else { return nil }
        return entry.item
    }

    /// The answer to a BEP 44 `get` for a mutable item, where `sequence` is the request's `seq`:
    /// the whole item when none was given or the held one is newer, otherwise only its sequence
    /// number. `nil` when no live mutable item is held at `target`.
    ///
    /// Deviations: libtorrent sends no value for a negative requested `seq`; Potluck treats it
    /// like any number lower than the stored one and sends the item.
    public func getMutable(_ target: NodeID, ifNewerThan sequence: Int64?, now: Timestamp) -> MutableGetResult? {
        guard case .mutable(let item) = get(target, now: now) else { return nil }
        if let sequence, item.sequence <= sequence { return .unchanged(sequence: item.sequence) }
        return .item(item)
    }

    // MARK: Expiry and eviction

    /// Removes every item not put again within the lifetime (expiry at `storedAt + lifetime`
    /// exactly) and returns their targets, soonest first.
    public mutating func expire(now: Timestamp) -> [NodeID] {
        var removed: [NodeID] = []
        while let next = deadlines.min, next.storedAt + configuration.itemLifetime <= now {
            _ = deadlines.removeMin()
            guard isCurrent(next) else { continue }
            remove(next.target)
            counters.expired += 1
            removed.append(next.target)
        }
        return removed
    }

    private func isExpired(_ entry: StoredItem, now: Timestamp) -> Bool {
        entry.storedAt + configuration.itemLifetime <= now
    }

    private func isCurrent(_ deadline: Deadline) -> Bool {
        entries[deadline.target]?.storedAt == deadline.storedAt
    }

    private mutating func dropIfExpired(_ target: NodeID, now: Timestamp) {
        guard let entry = entries[target], isExpired(entry, now: now) else { return }
        remove(target)  // its deadline becomes stale: the next one for this target has a later time
        counters.expired += 1
    }

    /// Adds a new item, after the per-address check and, when full, evicting what expires first.
    private mutating func insert(_ entry: StoredItem, now: Timestamp?) throws(ItemError) {
        let key = Self.accountingKey(entry.owner)
        guard perAddress[key] ?? 0 < configuration.maxItemsPerAddress else {
            throw .addressLimit(configuration.maxItemsPerAddress, address: entry.owner)
        }
        if entries.count >= configuration.maxItems, let now { _ = expire(now: now) }
        while entries.count >= configuration.maxItems, let next = deadlines.popMin() {
            guard isCurrent(next) else { continue }
            remove(next.target)
            counters.evicted += 1
        }
        entries[entry.item.target] = entry
        perAddress[key, default: 0] += 1  // after eviction, which may have lowered it
        schedule(Deadline(storedAt: entry.storedAt, target: entry.item.target))
    }

    /// Moves the item's expiry to one lifetime after `time` (never earlier than it was).
    private mutating func refresh(_ target: NodeID, to time: Timestamp) {
        guard let old = entries[target]?.storedAt, old < time else { return }
        entries[target]?.storedAt = time
        schedule(Deadline(storedAt: time, target: target))
    }

    private mutating func remove(_ target: NodeID) {
        guard let entry = entries.removeValue(forKey: target) else { return }
        let key = Self.accountingKey(entry.owner)
        let left = (perAddress[key] ?? 1) - 1
        perAddress[key] = left > 0 ? left : nil
    }

    private mutating func schedule(_ deadline: Deadline) {
        deadlines.insert(deadline)
        if deadlines.count > 2 * entries.count + 64 {
            deadlines = Heap(entries.values.map { Deadline(storedAt: $0.storedAt, target: $0.item.target) })
        }
    }

    /// The key an address is counted under: itself for IPv4, its /64 for IPv6 (one subscriber
    /// usually holds a whole /64, so counting single IPv6 addresses would bound nothing).
    static func accountingKey(_ address: Endpoint.Address) -> Endpoint.Address {
        switch address {
        case .v4: address
        case .v6(let high, _): .v6(high, 0)
        }
    }
}

/// When an item expires, ordered by time and then target so that ties are broken the same way
/// on every run.
private struct Deadline: Comparable {
    var storedAt: Timestamp
    var target: NodeID

    static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        (lhs.storedAt, lhs.target) < (rhs.storedAt, rhs.target)
    }
}
