// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// One peer known to a ``Lookup``, kept in a list sorted by distance to the target.
struct Candidate: Sendable {
    /// Where a peer stands in the lookup.
    enum State: UInt8, Sendable {
        /// Known, never queried.
        case fresh
        /// Queried less than the short timeout ago; counts against α.
        case waiting
        /// Queried, unanswered past the short timeout; no longer counts against α.
        case slow
        /// Answered.
        case succeeded
        /// Failed: reported by the driver, or unanswered past the full timeout.
        case failed
    }

    /// The peer's id XOR the target: the sort key, and the id itself with the target
    /// (``contact(target:)``). The id is not stored twice: a lookup moves its candidates
    /// around on every reply, and 64 bytes move faster than 88.
    var distance: NodeID
    var endpoint: Endpoint
    /// When the query went out (meaningful in `waiting` and `slow`).
    var sentAt: Timestamp
    /// 0 for a seed; h + 1 when learned from the reply of a hop-h peer.
    var hop: UInt32
    var state: State
    /// Whether the query went out a second time after turning slow
    /// (``Lookup/Configuration/resendsToSlowPeers``), and when.
    var resent = false
    var resentAt = Timestamp.zero
    /// When this peer's query turns slow, counted from its send: from its expected round trip
    /// (``Lookup/Configuration/expectedRoundTripFactor``), or 0 to follow the lookup's own
    /// short timeout (`spec/0007` §5.7).
    var slowAfterNanos: UInt64 = 0

    /// The peer's contact, for a lookup of `target`.
    func contact(target: NodeID) -> NodeContact { NodeContact(id: distance ^ target, endpoint: endpoint) }
}

/// The result of one pass over the candidates (see ``Lookup/scan(now:)``).
enum LookupScan {
    /// The k closest peers not failed have all answered.
    case finished
    /// The candidate at this index is the one to query next (if α and the budget allow).
    case query(Int)
    /// Nobody eligible to query.
    case wait
}

extension Lookup {
    /// The index of the first candidate not closer than `distance` (binary search, written
    /// without a data-dependent branch: the halving selects, which the compiler turns into
    /// conditional moves, since a random distance mispredicts half the branches).
    func lowerBound(_ distance: NodeID) -> Int {
        candidates.withUnsafeBufferPointer { buffer in
            var base = 0, length = buffer.count
            while length > 0 {
                let half = length / 2
                let closer = buffer[base + half].distance < distance
                base = closer ? base + half + 1 : base
                length = closer ? length - half - 1 : half
            }
            return base
        }
    }

    /// The index of the candidate with this id, if held.
    func position(of id: NodeID) -> Int? {
        let distance = id ^ target
        let index = lowerBound(distance)
        return index < candidates.count && candidates[index].distance == distance ? index : nil
    }

    /// Adds `contact` as a fresh candidate unless it is our own id or already known (a fresh
    /// duplicate only lowers its hop). Beyond ``Configuration/candidateLimit`` fresh
    /// candidates, the farthest fresh one is dropped; queried peers are never dropped, so no
    /// peer is ever queried twice.
    @discardableResult
    mutating func insert(_ contact: NodeContact, hop: UInt32, expected: Duration? = nil) -> Bool {
        guard contact.id != ownID else { return false }
        let distance = contact.id ^ target
        let index = lowerBound(distance)
        if index < candidates.count, candidates[index].distance == distance {
            if candidates[index].state == .fresh, hop < candidates[index].hop { candidates[index].hop = hop }
            // Named again: keep the longest expectation, since each namer's coordinate for the
            // peer may be stale in its own way and a short one passes over a live peer (§9.2.7).
            if let expected, candidates[index].slowAfterNanos > 0,
               candidates[index].state == .fresh || candidates[index].state == .waiting {
                candidates[index].slowAfterNanos = Swift.max(candidates[index].slowAfterNanos, slowAfter(expected: expected))
            }
            return false
        }
        // Fast path: a full list and a contact farther than everything in it.
        if index == candidates.count, freshCount >= configuration.candidateLimit { return false }
        var candidate = Candidate(distance: distance, endpoint: contact.endpoint, sentAt: .zero, hop: hop, state: .fresh)
        if let expected { candidate.slowAfterNanos = slowAfter(expected: expected) }
        candidates.insert(candidate, at: index)
        freshCount += 1
        if freshCount > configuration.candidateLimit { dropFarthestFresh() }
        return true
    }

    /// When a query to a peer expected to answer after `expected` turns slow: that many
    /// expected round trips plus the margin (``Configuration/expectedRoundTripFactor``), and 0
    /// (the lookup's own short timeout) without a factor. Never past the short timeout's
    /// ceiling: a far coordinate handed out with a departed contact must not hold an α slot
    /// longer than any other query may.
    private func slowAfter(expected: Duration) -> UInt64 {
        guard let factor = configuration.expectedRoundTripFactor else { return 0 }
        return Swift.min(Self.nanoseconds(configuration.shortTimeout), UInt64(factor * Double(Self.nanoseconds(expected))) &+ marginNanos)
    }

    private mutating func dropFarthestFresh() {
        var index = candidates.count - 1
        while candidates[index].state != .fresh { index -= 1 }
        candidates.remove(at: index)
        freshCount -= 1
    }

    /// Turns waiting queries past the short timeout slow and fails those past the full one.
    /// Returns the earliest time a query still out will change state, `nil` if none is out.
    mutating func expireQueries(now: Timestamp) -> Timestamp? {
        guard waitingCount + slowCount > 0 else { return nil }
        var earliest = UInt64.max
        let clock = now.nanoseconds
        for index in candidates.indices {
            let state = candidates[index].state
            guard state == .waiting || state == .slow else { continue }
            let sent = candidates[index].sentAt.nanoseconds
            let slowAfter = candidates[index].slowAfterNanos
            let slowAt = sent &+ (slowAfter > 0 ? slowAfter : shortNanos), failAt = sent &+ fullNanos
            if clock >= failAt {
                if state == .waiting { waitingCount -= 1 } else { slowCount -= 1 }
                candidates[index].state = .failed
                failureCount += 1
            } else if state == .slow || clock >= slowAt {
                if state == .waiting {
                    candidates[index].state = .slow
                    slowedCount += 1
                    waitingCount -= 1
                    slowCount += 1
                }
                earliest = min(earliest, failAt)
                // A resend's own short timeout may end a lookup in a small network (`scan`).
                let resendOver = candidates[index].resentAt.nanoseconds &+ shortNanos
                if candidates[index].resent, clock < resendOver { earliest = min(earliest, resendOver) }
            } else {
                earliest = min(earliest, slowAt)
            }
        }
        return earliest == .max ? nil : Timestamp(nanoseconds: earliest)
    }

    /// One pass from the closest candidate outwards: whether the k closest peers not failed
    /// have all answered, and otherwise the closest fresh peer among the k closest that are
    /// neither failed nor slow (slow peers are likely failures, so a fresh peer just beyond
    /// them may take their place), or, closer still, a slow peer among the k closest not failed
    /// whose query has not been resent (``Configuration/resendsToSlowPeers``).
    ///
    /// Slow peers hold up termination only with ``Configuration/slowHoldsTermination``;
    /// without it (the default) the lookup is also finished once the k closest peers neither
    /// failed nor slow have all answered, or once fewer than k such peers are known, at least
    /// one of them, all answered, no query is left to send and every resend has had a short
    /// timeout to be answered.
    func scan(now: Timestamp) -> LookupScan {
        let k = configuration.k
        var settled = 0, allAnswered = true  // among the k closest not failed
        var eligible = 0, eligibleAnswered = true  // among the k closest neither failed nor slow
        var resendPending = false  // a slow peer among them resent less than a short timeout ago
        var choice: Int?
        for index in candidates.indices {
            let state = candidates[index].state
            if state == .failed { continue }
            let amongClosest = settled < k
            if amongClosest {
                settled += 1
                if state != .succeeded { allAnswered = false }
                if state == .slow, candidates[index].resent,
                   now.nanoseconds < candidates[index].resentAt.nanoseconds &+ shortNanos { resendPending = true }
            }
            if state != .slow, eligible < k {
                eligible += 1
                if state != .succeeded { eligibleAnswered = false }
                if state == .fresh, choice == nil { choice = index }
            } else if state == .slow, amongClosest, choice == nil, configuration.resendsToSlowPeers, !candidates[index].resent {
                choice = index
            }
            if settled == k, allAnswered || choice != nil || eligible == k { break }
        }
        if settled == k, allAnswered { return .finished }
        if !configuration.slowHoldsTermination, eligibleAnswered {
            // k responsive peers answered; or, in a network of fewer than k live nodes, every
            // responsive peer answered and none is left to ask (a dead peer there held the end
            // of each lookup for the full timeout).
            if eligible == k || (eligible > 0 && choice == nil && !resendPending) { return .finished }
        }
        if let choice { return .query(choice) }
        return .wait
    }
}
