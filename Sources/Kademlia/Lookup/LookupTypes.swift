import PotluckCrypto
// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

extension Lookup {
    /// The knobs of an iterative node lookup (Maymounkov & Mazières 2002, §2.3; BEP 5).
    ///
    /// The defaults follow the Mainline DHT, eight results, but with seven queries in flight
    /// among the k closest rather than the paper's three: under heavy churn a query to a dead
    /// peer holds its slot for the short timeout (`simulations/churn-10k.toml`: α 3 → 4, median
    /// 0.81 → 0.69 s; α 4 → 6 with ``overtakenFreeSlots``, 561 → 465 ms, the node's bootstrap
    /// and refresh lookups keeping α 4; α 7 with liveness checks every 12 s instead of 10,
    /// 468 → 445 ms for the same messages; `spec/0007` §9.2.3, §9.2.6, §9.2.8). See
    /// `spec/0007-dht-lookup.md` for the normative rules.
    public struct Configuration: Sendable, Hashable {
        /// Parallelism, the paper's α: the most queries that may be in flight at once and not
        /// yet "slow". A query that has waited ``shortTimeout`` stops counting against α, and so
        /// does one to an overtaken peer (``overtakenFreeSlots``).
        public var alpha: Int

        /// The result size, the paper's k (also the Mainline bucket size, 8): the lookup
        /// ends once the `k` closest peers it knows of have all answered.
        public var k: Int

        /// How long a query may go unanswered before its peer is considered "slow": the query
        /// stays open (a late answer is still used) but no longer occupies one of the α slots,
        /// so another query may go out.
        public var shortTimeout: Duration

        /// How long a query may go unanswered before the lookup itself marks its peer failed.
        /// Must not be shorter than ``shortTimeout``.
        public var fullTimeout: Duration

        /// The most queries one lookup may send. Once reached, no more are sent; the lookup ends
        /// as soon as the queries already out have been answered or have failed.
        public var maxQueries: Int

        /// The most never-queried candidates the lookup keeps (sorted by distance; the farthest
        /// are dropped first). Queried peers are always kept, so the candidate list holds at
        /// most `candidateLimit + maxQueries` entries. Must be at least ``k``.
        public var candidateLimit: Int

        /// The most contacts read from one reply; the rest are ignored. A BEP 5 reply carries
        /// at most 8 IPv4 (`nodes`) plus 8 IPv6 (`nodes6`, BEP 32) contacts.
        public var contactsPerReply: Int

        /// Whether a slow peer among the k closest holds up the end of the lookup until it
        /// answers or fails (libtorrent), or is passed over once the k closest peers neither
        /// failed nor slow have answered (rust-libp2p; the late reply still counts while the
        /// lookup runs). See `spec/0007-dht-lookup.md` §4.
        public var slowHoldsTermination: Bool

        /// The floor of the adaptive short timeout, or `nil` for a fixed ``shortTimeout``. With
        /// a floor, the short timeout starts at ``shortTimeout`` and follows the round trips of
        /// the lookup's own replies with TCP's estimator (RFC 6298: the smoothed round trip plus
        /// ``timeoutDeviations`` deviations), kept between the floor and ``shortTimeout``.
        public var adaptiveShortTimeoutFloor: Duration?

        /// Whether a query that turned slow, to a peer among the k closest not failed, goes out
        /// once more (on a path losing 1% of datagrams, one lookup in seven otherwise drops a
        /// live close peer from its result). The resend stays slow: it holds neither an α slot
        /// nor the end of the lookup, and its reply counts if it comes while the lookup runs.
        /// See `spec/0007-dht-lookup.md` §5.5.
        public var resendsToSlowPeers: Bool

        /// The deviations the adaptive short timeout adds to the smoothed round trip: 3, where
        /// RFC 6298's retransmission timer adds 4. Turning slow resends nothing by itself (the
        /// reply still counts) but frees the slot sooner; fewer than 3 pass over live distant
        /// peers too often (`small.toml`: 96% exact with 2, 99.7% with 3; `spec/0007` §9.2.3).
        public var timeoutDeviations: Double = 3

        /// A peer whose round trip the driver expects (from Vivaldi coordinates, `spec/0013`)
        /// turns slow after this many expected round trips plus ``expectedRoundTripMargin``,
        /// instead of after the lookup's own short timeout, and never later than
        /// ``shortTimeout``, its ceiling: a dead peer nearby is passed over sooner, a live one far away is
        /// waited for (`spec/0007` §5.7, measured in §9.2.4). `nil`: every peer follows the
        /// short timeout.
        public var expectedRoundTripFactor: Double? = 1.25

        /// The margin added to a peer's expected round trips (jitter, the peer's own delay).
        public var expectedRoundTripMargin: Duration = .milliseconds(20)

        /// Whether a converged lookup may have k queries waiting instead of α. A lookup has
        /// converged once a peer among its k closest answered without naming anyone new closer
        /// than the k-th: the end is near, and the k closest still to ask are asked at once, as in
        /// the paper's last round (Maymounkov & Mazières 2002, §2.3; `spec/0007` §5.8).
        public var burstsWhenConverged = true

        /// Whether a waiting query whose peer has been overtaken — it is no longer among the k
        /// closest peers neither failed nor slow, closer ones having been learned since it was
        /// sent — stops counting against α, as a slow one does. Its reply still counts. Without
        /// it, queries to peers the lookup has already passed hold the slots the new closest
        /// peers need (`spec/0007` §5.9).
        public var overtakenFreeSlots = true

        /// A configuration; every parameter defaults to the Mainline value.
        public init(
            alpha: Int = 7, k: Int = 8,
            shortTimeout: Duration = .seconds(1), fullTimeout: Duration = .seconds(5),
            maxQueries: Int = 100, candidateLimit: Int = 32, contactsPerReply: Int = 16, slowHoldsTermination: Bool = false,
            adaptiveShortTimeoutFloor: Duration? = .milliseconds(200), resendsToSlowPeers: Bool = true
        ) {
            self.resendsToSlowPeers = resendsToSlowPeers
            self.slowHoldsTermination = slowHoldsTermination
            self.adaptiveShortTimeoutFloor = adaptiveShortTimeoutFloor
            self.alpha = alpha
            self.k = k
            self.shortTimeout = shortTimeout
            self.fullTimeout = fullTimeout
            self.maxQueries = maxQueries
            self.candidateLimit = candidateLimit
            self.contactsPerReply = contactsPerReply
        }

        /// Whether every field is in range: α, k, `maxQueries` and `contactsPerReply` at least 1,
        /// `candidateLimit ≥ k`, `0 < shortTimeout ≤ fullTimeout`, a positive finite
        /// `expectedRoundTripFactor` and a margin not negative.
        public var isValid: Bool {
            alpha >= 1 && k >= 1 && maxQueries >= 1 && contactsPerReply >= 1 && candidateLimit >= k
                && shortTimeout > .zero && shortTimeout <= fullTimeout
                && (expectedRoundTripFactor.map { $0 > 0 && $0.isFinite } ?? true) && expectedRoundTripMargin >= .zero
        }
    }

    /// What the driver must do next (the output of ``Lookup/next(now:)``).
    public enum Step: Sendable, Hashable {
        /// Send a query (find_node, get_peers, BEP 44 get) to this contact now, then call
        /// ``Lookup/next(now:)`` again.
        case query(NodeContact)
        /// Nothing to send now. Call ``Lookup/next(now:)`` again at this time, or earlier when a
        /// reply or an error arrives.
        case waitUntil(Timestamp)
        /// The lookup is over; read ``Lookup/result``.
        case finished
    }
}

/// The outcome of a ``Lookup``: the closest peers that answered, and what it cost.
public struct LookupResult: Sendable, Hashable {
    /// Up to k peers that answered, closest to the target first (XOR metric).
    public var closest: [NodeContact]
    /// Queries sent.
    public var queried: Int
    /// Queries answered (accepted by ``Lookup/succeeded(_:closerNodes:now:)``).
    public var responded: Int
    /// Queries failed: reported by the driver or timed out after the full timeout.
    public var failed: Int
    /// Queries unanswered past the short timeout (each freed its α slot), and how many of those
    /// were sent once more (``Lookup/Configuration/resendsToSlowPeers``): where a lookup's time
    /// goes under churn.
    public var slowed = 0, resent = 0
    /// The peers asked that had not answered when the lookup ended (slow, failed, or still
    /// waiting) and are closer than the farthest of ``closest``: where a result passed over a
    /// peer it knew of (issue 19's accounting of inexact lookups).
    public var unanswered: [NodeID] = []
    /// For `get_peers` and BEP 44 `get`: from the start to the first reply that carried peers or
    /// the item (what a borrower waits for before it can act); `nil` if none did. Set by the
    /// driver, which sees the values.
    public var firstValueAfter: Duration?
    /// The largest hop count among ``closest`` (0 when empty). A seed has hop 0; a contact
    /// first learned from the reply of a hop-h peer has hop h + 1. So `hops` is the length of
    /// the longest chain of replies that led to a result peer.
    public var hops: Int
    /// From the lookup's start to its end (or to the latest input, while it is running).
    public var duration: Duration
    /// For `get_peers`: the Potluck identity each found peer announced with, where a responder
    /// reported it (`plks`, `spec/0021-reachability.md` §5): a lender others cannot ping.
    public var peerKeys: [Endpoint: PublicKey] = [:]

    public init(closest: [NodeContact], queried: Int, responded: Int, failed: Int, hops: Int, duration: Duration) {
        self.closest = closest
        self.queried = queried
        self.responded = responded
        self.failed = failed
        self.hops = hops
        self.duration = duration
    }
}
