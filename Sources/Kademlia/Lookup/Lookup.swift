// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// An iterative Kademlia node lookup: the engine behind `find_node`, `get_peers` and BEP 44
/// `get`/`put`. Sans-I/O and deterministic: it sends nothing, reads no clock and draws no
/// random numbers; the driver (the UDP node or the simulator) feeds it replies, failures and
/// the time, and it answers with the next ``Step``.
///
/// The algorithm is the node lookup of Maymounkov & Mazières (2002, §2.3) as used by the
/// Mainline DHT (BEP 5): start from the k closest contacts of the routing table, keep α
/// queries in flight to the closest peers not yet queried, merge the contacts each reply
/// returns, and stop once the k closest peers known have all answered.
///
/// Driving it:
/// 1. Call ``next(now:)`` until it returns something other than ``Step/query(_:)``; send
///    each query it hands out.
/// 2. On a reply call ``succeeded(_:closerNodes:now:)``; on an error or a transport-level
///    failure call ``failed(_:now:)``; at the time of a ``Step/waitUntil(_:)``, do nothing
///    but go back to step 1.
/// 3. After ``Step/finished``, read ``result``. Tokens, values and peers carried by replies
///    are the driver's business: it keys them by ``NodeID``.
///
/// Time only matters through the `now` arguments, which must not go backwards.
///
/// Timeouts: a query unanswered for the short timeout makes its peer *slow*: it stops counting
/// against α, so another query may go out, but a late reply is still used while the lookup
/// runs. A query whose peer closer peers have pushed out of the k closest frees its slot too
/// (``Configuration/overtakenFreeSlots``). The short timeout is
/// ``Configuration/shortTimeout``, or by default follows the round
/// trips of the lookup's own replies (RFC 6298, between
/// ``Configuration/adaptiveShortTimeoutFloor`` and ``Configuration/shortTimeout``). After
/// ``Configuration/fullTimeout`` the lookup marks the peer failed itself. A slow peer among the
/// k closest is asked once more (``Configuration/resendsToSlowPeers``): the driver then has two
/// queries out to it and reports whichever is answered.
///
/// Deviations: the paper waits for a whole round of α replies before the next round and,
/// when a round brings nothing closer, queries all k closest unqueried peers; like libtorrent
/// and rust-libp2p this lookup instead sends a new query as soon as a slot frees, always to
/// the closest unqueried peer; the last round survives as the converged burst
/// (``Configuration/burstsWhenConverged``: k slots once the closest peers name no one new).
/// Like rust-libp2p, by default a slow peer among the k closest does not hold up termination
/// once the k closest responsive peers answered; with ``Configuration/slowHoldsTermination``
/// it does, as in libtorrent (`spec/0007` §9.2).
/// The candidate list is bounded (``Configuration/candidateLimit``) and a late reply from a
/// peer already marked failed is ignored.
public struct Lookup: Sendable {
    /// The id whose k closest nodes are sought (a node id, an info-hash, a BEP 44 target).
    public let target: NodeID
    /// Our own id: never queried, never kept as a candidate.
    public let ownID: NodeID
    /// The parameters this lookup runs with.
    public let configuration: Configuration

    /// Known peers, sorted by increasing distance to `target` (distances are unique, since
    /// XOR with the target is a bijection, so a distance identifies a peer).
    var candidates: [Candidate] = []
    /// Candidates in state `fresh`.
    var freshCount = 0
    /// Queries in flight and not yet slow (the ones α limits).
    var waitingCount = 0
    /// Queries in flight past the short timeout.
    var slowCount = 0
    var queryCount = 0
    var responseCount = 0
    var failureCount = 0
    /// Queries that turned slow, and slow queries sent once more.
    var slowedCount = 0, resendCount = 0
    /// The short timeout now: fixed, or adapted to the replies' round trips.
    var shortNanos: UInt64
    let fullNanos: UInt64
    /// ``Configuration/expectedRoundTripMargin`` in nanoseconds.
    let marginNanos: UInt64
    /// RFC 6298's smoothed round trip and its deviation, in nanoseconds (0: no sample yet).
    var smoothedRTT = 0.0, rttDeviation = 0.0
    let startedAt: Timestamp
    var latest: Timestamp
    var finishedAt: Timestamp?
    /// Whether a peer among the k closest answered without naming anyone new closer than the
    /// k-th (``Configuration/burstsWhenConverged``).
    var converged = false

    /// Starts a lookup for `target` from `seeds` (normally the closest contacts of the routing
    /// table). Seeds are deduplicated by id, `ownID` is dropped, and only the
    /// ``Configuration/candidateLimit`` closest are kept. All seeds have hop 0.
    ///
    /// `expectedRoundTrips`, when not empty, holds each seed's expected round trip (`nil` when
    /// unknown), in the order of `seeds`: see ``Configuration/expectedRoundTripFactor``.
    public init(target: NodeID, ownID: NodeID, seeds: [NodeContact], expectedRoundTrips: [Duration?] = [],
                configuration: Configuration = Configuration(), now: Timestamp) {
        precondition(configuration.isValid, "invalid lookup configuration")
        self.target = target
        self.ownID = ownID
        self.configuration = configuration
        self.shortNanos = Self.nanoseconds(configuration.shortTimeout)
        self.fullNanos = Self.nanoseconds(configuration.fullTimeout)
        self.marginNanos = Self.nanoseconds(configuration.expectedRoundTripMargin)
        self.startedAt = now
        self.latest = now
        candidates.reserveCapacity(configuration.candidateLimit + 1)
        for (index, seed) in seeds.enumerated() {
            insert(seed, hop: 0, expected: index < expectedRoundTrips.count ? expectedRoundTrips[index] : nil)
        }
    }

    /// The waiting queries that hold α slots: all of them, or with
    /// ``Configuration/overtakenFreeSlots`` those to the k closest peers neither failed nor
    /// slow (§5.9).
    var slotsTaken: Int {
        guard configuration.overtakenFreeSlots else { return waitingCount }
        var eligible = 0, waiting = 0
        for candidate in candidates where candidate.state != .failed && candidate.state != .slow {
            if candidate.state == .waiting { waiting += 1 }
            eligible += 1
            if eligible == configuration.k || waiting == waitingCount { break }
        }
        return waiting
    }

    /// Whether ``next(now:)`` has returned ``Step/finished``.
    public var isFinished: Bool { finishedAt != nil }

    /// Queries in flight and not slow (sent less than the short timeout ago); with
    /// ``Configuration/overtakenFreeSlots`` those to overtaken peers do not count against α.
    public var inFlight: Int { waitingCount }

    /// All queries in flight, slow ones included.
    public var outstanding: Int { waitingCount + slowCount }

    /// The hop count of a known peer (0 for a seed, h + 1 when first learned from a hop-h
    /// peer), or `nil` if the lookup does not hold it.
    public func hop(of id: NodeID) -> Int? {
        position(of: id).map { Int(candidates[$0].hop) }
    }

    /// Advances the lookup to `now` and says what to do: send one query, wait, or stop.
    ///
    /// First, queries past the full timeout fail and those past the short timeout turn slow.
    /// Then the lookup is finished if the k closest peers not failed have all answered.
    /// Otherwise, if fewer than α queries (k once converged, ``Configuration/burstsWhenConverged``)
    /// are in flight (slow and overtaken ones aside, ``Configuration/overtakenFreeSlots``) and the
    /// query budget is not spent, the closest fresh peer
    /// among the k closest peers neither failed nor slow is queried. Otherwise the lookup waits for the earliest timeout of a query in flight;
    /// with none in flight there is nothing left to do and it is finished.
    public mutating func next(now: Timestamp) -> Step {
        guard finishedAt == nil else { return .finished }
        advance(to: now)
        let deadline = expireQueries(now: now)
        switch scan(now: now) {
        case .finished:
            return finish()
        case .query(let index) where slotsTaken < alphaNow && queryCount < configuration.maxQueries:
            return .query(dispatch(index, now: now))
        case .query, .wait:
            if let deadline { return .waitUntil(deadline) }
            return finish()
        }
    }

    /// Reports a reply from `id` carrying `closerNodes`. The peer is marked answered and the
    /// first ``Configuration/contactsPerReply`` contacts are merged (deduplicated by id, our
    /// own id dropped, each with the peer's hop + 1).
    ///
    /// `expectedRoundTrips`, when not empty, holds each contact's expected round trip (`nil`
    /// when unknown), in the order of `closerNodes` (``Configuration/expectedRoundTripFactor``).
    ///
    /// Returns `false`, changing nothing, if the lookup is finished or has no query out to `id`
    /// (unknown peer, never queried, already answered or already failed).
    @discardableResult
    public mutating func succeeded(_ id: NodeID, closerNodes: [NodeContact], expectedRoundTrips: [Duration?] = [],
                                   now: Timestamp) -> Bool {
        guard finishedAt == nil, let index = position(of: id), close(index, as: .succeeded) else { return false }
        advance(to: now)
        responseCount += 1
        // Karn's rule (RFC 6298 §3): a resent query's reply may answer either datagram.
        if !candidates[index].resent { adapt(roundTrip: now.nanoseconds &- candidates[index].sentAt.nanoseconds) }
        let hop = candidates[index].hop &+ 1
        // §5.8: a peer among the k closest that names no one new closer than the k-th.
        let horizon = configuration.burstsWhenConverged && !converged ? kthClosestNotFailed : nil
        var converges = horizon.map { candidates[index].distance <= $0 } ?? false
        for (position, contact) in closerNodes.prefix(configuration.contactsPerReply).enumerated() {
            let added = insert(contact, hop: hop, expected: position < expectedRoundTrips.count ? expectedRoundTrips[position] : nil)
            if added, let horizon, (contact.id ^ target) < horizon { converges = false }
        }
        if converges { converged = true }
        return true
    }

    /// The most queries that may be waiting now: α, or k once converged
    /// (``Configuration/burstsWhenConverged``).
    var alphaNow: Int { converged ? Swift.max(configuration.alpha, configuration.k) : configuration.alpha }

    /// The distance of the k-th closest candidate not failed (`NodeID.max` with fewer).
    var kthClosestNotFailed: NodeID {
        var seen = 0
        for candidate in candidates where candidate.state != .failed {
            seen += 1
            if seen == configuration.k { return candidate.distance }
        }
        return .max
    }

    /// Reports that the query to `id` failed (an error reply, an unreachable host, or a timeout
    /// the driver keeps itself). Returns `false`, changing nothing, if the lookup is finished
    /// or has no query out to `id`.
    @discardableResult
    public mutating func failed(_ id: NodeID, now: Timestamp) -> Bool {
        guard finishedAt == nil, let index = position(of: id), close(index, as: .failed) else { return false }
        advance(to: now)
        failureCount += 1
        return true
    }

    /// The outcome so far: up to k answered peers closest first, the counters, the hop depth
    /// (see ``LookupResult/hops``) and the time from the start to the end (or the latest input).
    public var result: LookupResult {
        var closest: [NodeContact] = []
        closest.reserveCapacity(configuration.k)
        var hops: UInt32 = 0
        var unanswered: [NodeID] = []
        for candidate in candidates {
            switch candidate.state {
            case .succeeded:
                closest.append(candidate.contact(target: target))
                hops = max(hops, candidate.hop)
            case .waiting, .slow, .failed:
                unanswered.append(candidate.distance ^ target)
            case .fresh:
                break
            }
            if closest.count == configuration.k { break }
        }
        var result = LookupResult(closest: closest, queried: queryCount, responded: responseCount, failed: failureCount,
                                  hops: Int(hops), duration: (finishedAt ?? latest) - startedAt)
        result.slowed = slowedCount
        result.unanswered = unanswered
        result.resent = resendCount
        return result
    }

    /// Feeds one reply's round trip to the adaptive short timeout (RFC 6298 §2's estimator,
    /// α = 1/8, β = 1/4; SRTT + d·RTTVAR with d = ``Configuration/timeoutDeviations``), kept
    /// between the floor and the configured timeout.
    private mutating func adapt(roundTrip: UInt64) {
        guard let floor = configuration.adaptiveShortTimeoutFloor else { return }
        let sample = Double(roundTrip)
        if smoothedRTT == 0 {
            smoothedRTT = sample
            rttDeviation = sample / 2
        } else {
            rttDeviation = 0.75 * rttDeviation + 0.25 * abs(smoothedRTT - sample)
            smoothedRTT = 0.875 * smoothedRTT + 0.125 * sample
        }
        let ceiling = Double(Self.nanoseconds(configuration.shortTimeout))
        shortNanos = UInt64(min(ceiling, max(Double(Self.nanoseconds(floor)), smoothedRTT + configuration.timeoutDeviations * rttDeviation)))
    }

    private mutating func advance(to now: Timestamp) {
        if latest < now { latest = now }
    }

    private mutating func finish() -> Step {
        finishedAt = latest
        return .finished
    }

    /// Marks the query at `index` sent now and returns its contact.
    private mutating func dispatch(_ index: Int, now: Timestamp) -> NodeContact {
        queryCount += 1
        if candidates[index].state == .slow {
            // A resend: it stays slow (it holds neither α nor the end of the lookup) and keeps
            // its first send time, so its full timeout covers both datagrams.
            candidates[index].resent = true
            candidates[index].resentAt = now
            resendCount += 1
            return candidates[index].contact(target: target)
        }
        freshCount -= 1
        candidates[index].state = .waiting
        candidates[index].sentAt = now
        waitingCount += 1
        return candidates[index].contact(target: target)
    }

    /// Ends the query at `index` in `state` (succeeded or failed); `false` if none is out.
    private mutating func close(_ index: Int, as state: Candidate.State) -> Bool {
        switch candidates[index].state {
        case .waiting: waitingCount -= 1
        case .slow: slowCount -= 1
        case .fresh, .succeeded, .failed: return false
        }
        candidates[index].state = state
        return true
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
    }
}
