/// The peers other nodes have announced to this node (BEP 5 `announce_peer`), answered by
/// `get_peers` and sampled by BEP 51 `sample_infohashes`.
///
/// A pure value: every operation takes `now` and the same calls give the same results (the
/// store never iterates a hashed collection where order could show). Each info-hash keeps its
/// IPv4 and IPv6 peers apart, each list in announce order, oldest first.
///
/// Deviations: BEP 5 sets no bounds; Potluck, like libtorrent, keeps at most
/// ``Configuration/maxInfoHashes`` info-hashes and ``Configuration/maxPeersPerInfoHash`` peers per
/// family per info-hash, and drops announces beyond them (existing peers are always refreshed).
/// BEP 5 does not say how long a peer stays; Potluck keeps it for 30 minutes after its last
/// announce (libtorrent's interval; clients re-announce about every 15). Replies hold the most
/// recently announced peers, at most 50 IPv4 or 32 IPv6 ones, so that a `get_peers` reply with
/// its 8 closest nodes fits a 1232-byte IPv6 datagram; libtorrent instead picks at random.
/// The BEP 33 `seed` flag and scrapes are not kept.
public struct PeerStore: Sendable {
    /// Bounds and lifetimes (`spec/0006-dht-items.md` §6).
    public struct Configuration: Sendable, Hashable {
        /// The most info-hashes tracked; announces for new ones beyond it are dropped.
        public var maxInfoHashes: Int
        /// The most peers kept per info-hash, for each address family.
        public var maxPeersPerInfoHash: Int
        /// How long a peer stays after its last announce (expiry at exactly this age).
        public var peerLifetime: Duration
        /// The most IPv4 peers in one `get_peers` reply (8 bytes each in `values`).
        public var maxPeersPerReplyV4: Int
        /// The most IPv6 peers in one `get_peers` reply (21 bytes each in `values`).
        public var maxPeersPerReplyV6: Int

        public init(
            maxInfoHashes: Int = 2_000, maxPeersPerInfoHash: Int = 100, peerLifetime: Duration = .seconds(30 * 60),
            maxPeersPerReplyV4: Int = 50, maxPeersPerReplyV6: Int = 32
        ) {
            precondition(maxInfoHashes > 0 && maxPeersPerInfoHash > 0, "peer store limits must be positive")
            precondition(peerLifetime > .zero, "the peer lifetime must be positive")
            self.maxInfoHashes = maxInfoHashes
            self.maxPeersPerInfoHash = maxPeersPerInfoHash
            self.peerLifetime = peerLifetime
            self.maxPeersPerReplyV4 = maxPeersPerReplyV4
            self.maxPeersPerReplyV6 = maxPeersPerReplyV6
        }
    }

    /// An address family: `get_peers` answers with the requester's own (BEP 5, BEP 32).
    public typealias Family = Endpoint.Address.Family

    private struct Peer: Sendable {
        var endpoint: Endpoint
        var announcedAt: Timestamp
    }

    private struct Swarm: Sendable {
        var infoHash: NodeID
        var v4: [Peer] = []
        var v6: [Peer] = []

        subscript(family: Family) -> [Peer] { family == .v4 ? v4 : v6 }

        /// Runs `body` on the list of `family` in place (no copy of the array).
        mutating func update<R>(_ family: Family, _ body: (inout [Peer]) -> R) -> R {
            family == .v4 ? body(&v4) : body(&v6)
        }
    }

    /// The bounds this store enforces.
    public let configuration: Configuration
    /// The number of peers held (expired ones count until ``expire(now:)`` removes them).
    public private(set) var peerCount = 0
    /// Announces dropped because a bound was reached, for `potluck dht status`.
    public private(set) var droppedAnnounces = 0

    private var swarms: [Swarm] = []
    private var index: [NodeID: Int] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The number of info-hashes with at least one peer held (BEP 51 `num`).
    public var infoHashCount: Int { swarms.count }

    /// Records that `peer` announced `infoHash` at `now`. Returns `false` when the announce was
    /// dropped because the store or the info-hash is full; a known peer is always refreshed.
    @discardableResult
    public mutating func announce(infoHash: NodeID, peer: Endpoint, now: Timestamp) -> Bool {
        let family = Family(peer)
        let slot: Int
        if let known = index[infoHash] {
            slot = known
        } else {
            guard swarms.count < configuration.maxInfoHashes else {
                droppedAnnounces += 1
                return false
            }
            slot = swarms.count
            swarms.append(Swarm(infoHash: infoHash))
            index[infoHash] = slot
        }
        let bound = configuration.maxPeersPerInfoHash, lifetime = configuration.peerLifetime
        let (accepted, change) = swarms[slot].update(family) { list in
            Self.record(peer, now: now, in: &list, bound: bound, lifetime: lifetime)
        }
        peerCount += change
        if !accepted { droppedAnnounces += 1 }
        return accepted
    }

    /// Adds or refreshes `peer` in `list` (kept in announce order); when the list is full, drops
    /// its expired peers first. Returns whether the peer is held and the change in list length.
    private static func record(
        _ peer: Endpoint, now: Timestamp, in list: inout [Peer], bound: Int, lifetime: Duration
    ) -> (accepted: Bool, change: Int) {
        let before = list.count
        var time = now
        if let position = list.firstIndex(where: { $0.endpoint == peer }) {
            time = max(time, list.remove(at: position).announcedAt)
        } else if list.count >= bound {
            list.removeAll { $0.announcedAt + lifetime <= now }
            guard list.count < bound else { return (false, list.count - before) }
        }
        list.append(Peer(endpoint: peer, announcedAt: time))
        return (true, list.count - before)
    }

    /// Peers of `family` announced for `infoHash` and still live at `now`, most recent first,
    /// at most `limit` (by default the family's reply bound).
    public func peers(for infoHash: NodeID, now: Timestamp, limit: Int? = nil, family: Family) -> [Endpoint] {
        guard let slot = index[infoHash] else { return [] }
        let bound = limit ?? (family == .v4 ? configuration.maxPeersPerReplyV4 : configuration.maxPeersPerReplyV6)
        var out: [Endpoint] = []
        for peer in swarms[slot][family].reversed() where out.count < bound && !isExpired(peer, now: now) {
            out.append(peer.endpoint)
        }
        return out
    }

    /// Removes peers not announced again within the lifetime, and info-hashes left with none.
    /// Returns how many peers were removed.
    @discardableResult
    public mutating func expire(now: Timestamp) -> Int {
        let before = peerCount
        for slot in swarms.indices.reversed() {
            for family in [Family.v4, .v6] {
                let list = swarms[slot][family]
                guard list.contains(where: { isExpired($0, now: now) }) else { continue }
                let kept = list.filter { !isExpired($0, now: now) }
                peerCount -= list.count - kept.count
                swarms[slot].update(family) { $0 = kept }
            }
            if swarms[slot].v4.isEmpty && swarms[slot].v6.isEmpty { removeSwarm(at: slot) }
        }
        return before - peerCount
    }

    /// Up to `count` distinct info-hashes held, chosen uniformly with `rng` (BEP 51 `samples`;
    /// a reply holds at most about 20). Call ``expire(now:)`` first so that none is stale.
    ///
    /// Uses Floyd's algorithm: `count` draws, whatever the number of info-hashes held.
    public func sample(count: Int, using rng: inout some RandomNumberGenerator) -> [NodeID] {
        let total = swarms.count, wanted = min(max(count, 0), total)
        var chosen = Set<Int>(), order: [Int] = []
        order.reserveCapacity(wanted)
        for upper in (total - wanted)..<total {
            let draw = Int.random(in: 0...upper, using: &rng)
            let pick = chosen.contains(draw) ? upper : draw
            chosen.insert(pick)
            order.append(pick)
        }
        return order.map { swarms[$0].infoHash }
    }

    private func isExpired(_ peer: Peer, now: Timestamp) -> Bool {
        peer.announcedAt + configuration.peerLifetime <= now
    }

    /// Removes the swarm at `slot` by moving the last one into its place.
    private mutating func removeSwarm(at slot: Int) {
        index[swarms[slot].infoHash] = nil
        let last = swarms.removeLast()
        guard slot < swarms.count else { return }
        swarms[slot] = last
        index[last.infoHash] = slot
    }
}
