import PotluckCrypto

/// Identifies a request the driver made of a ``DHTNode``, so its completion can be matched.
public typealias RequestID = UInt64

extension DHTNode {
    /// Everything a node is configured with. Paper and BEP symbols are spelled out.
    public struct Configuration: Sendable {
        /// BEP 43: a read-only node sends queries but never answers, and asks others (`ro=1`)
        /// not to add it to their routing tables.
        public var readOnly = false
        /// Sends `ro=1` (BEP 43) so that others do not keep this node, but still answers: a node
        /// that does not yet know whether others can reach it (`spec/0021-reachability.md` §4).
        /// Answering costs nothing there, and lets peers on the same network report the address
        /// they see, which is how the node learns it needs no NAT crossing.
        public var staysOutOfTables = false
        /// Dial-back (`spec/0021-reachability.md` §4.1): a node heard only through its query
        /// enters the table once it answers a ping sent from another port (``Action/dialBack``),
        /// so a node behind a NAT that did not say `ro=1` never does: its router lets in only
        /// the replies to where it wrote.
        public var dialBack = true
        /// Dial-backs in flight at most; queries from further unknown nodes are not dialled back.
        public var maxDialBacks = 32
        /// How long a dial-back's outcome stands: an endpoint that answered is taken at its
        /// word, one that did not is left out, without another ping.
        public var dialBackMemory: Duration = .seconds(600)
        /// How long an endpoint that let one of this node's lookup queries time out is left out
        /// of the contacts later lookups learn (`spec/0007-dht-lookup.md` §5.6): a dead node that
        /// others still hand out, or a sybil that answers pings and nothing else (issue 20),
        /// costs one timeout rather than one per lookup. Zero keeps none.
        public var silentMemory: Duration = .seconds(300)
        /// The routing table (k, the bucket size, and node-state timings).
        public var routing = RoutingTable.Configuration()
        /// Iterative lookups (alpha, the parallelism, and timeouts).
        public var lookup = Lookup.Configuration()
        /// Items stored for others (BEP 44).
        public var items = ItemStore.Configuration()
        /// Peers announced to us (BEP 5).
        public var peers = PeerStore.Configuration()
        /// How long a single query may stay unanswered before it counts as failed.
        public var queryTimeout: Duration = .seconds(5)
        /// The most queries this node has in flight at once; further lookups wait.
        public var maxPendingQueries = 1024
        /// The largest datagram accepted or sent (a safe UDP payload on the Internet).
        public var maxDatagramSize = 1500
        /// Queries accepted per second from one IP address, and the burst above that; an
        /// infinite rate turns the limiter off (the simulator's virtual hosts).
        public var queriesPerSecondPerAddress = 50.0
        public var queryBurstPerAddress = 100.0
        /// Queries accepted per second from one IPv4 /24 or IPv6 /64, and the burst above that.
        public var queriesPerSecondPerBlock = 250.0
        public var queryBurstPerBlock = 500.0
        /// Queries answered per second in all, and the burst above that; the last quarter of the
        /// burst is kept for verified members of the routing table (`spec/0009` §4).
        public var repliesPerSecond = 2000.0
        public var replyBurst = 4000.0
        /// How many source addresses and blocks the rate limiter remembers (the oldest are forgotten).
        public var rateLimiterCapacity = 4096
        /// Write tokens (BEP 5) rotate this often; a token stays valid for two periods.
        public var tokenRotation: Duration = .seconds(300)
        /// Whether a node that has bootstrapped refreshes each bucket with room left, one or two
        /// lookups at a time (Kademlia's join, Maymounkov and Mazières 2002 §2.3;
        /// `spec/0004-dht-routing.md` §5.4): without it a bucket far from the node's own id fills
        /// only when strangers happen to query it, and a region of the id space can stay unknown
        /// to a whole neighbourhood.
        public var refreshesAfterJoin = true
        /// Queries a refresh lookup keeps in flight (its α; `spec/0004-dht-routing.md` §5.4). No
        /// one waits for a refresh, and one that fills its bucket ends there: with fewer queries
        /// out, fewer are sent past the point where the bucket filled.
        public var refreshQueriesInFlight = 2
        /// How often stored items and peers are expired and buckets checked for refresh.
        public var maintenanceInterval: Duration = .seconds(60)
        /// Every this often the routing table's member heard from least recently is pinged, if it
        /// has been quiet for ``livenessQuietAfter`` (`spec/0004-dht-routing.md` §5.3); `nil`
        /// for no liveness checks (BEP 5 pings only to make room for a newcomer).
        public var livenessCheckInterval: Duration? = .seconds(12)
        /// How long a member must have been quiet before a liveness check pings it.
        public var livenessQuietAfter: Duration = .seconds(60)
        /// This node's own items are put again this often (BEP 44: items expire after 2 hours).
        public var republishInterval: Duration = .seconds(3600)
        /// How BEP 44 signatures are checked; the simulator may use `.acceptAll`.
        public var verifier = SignatureVerifier.ed25519
        /// Whether messages are encoded to bytes (`true`, always for a real node). The simulator
        /// may turn it off for speed: the node then emits ``Action/sendMessage(_:to:)`` and takes
        /// ``DHTNode/receive(message:from:now:)``, skipping only the KRPC codec.
        public var encodesMessages = true
        /// Whether each reply's round trip goes through Vivaldi's per-contact RTT filter and
        /// misfit rule, keyed by the responder's id (`spec/0013-coordinates.md` §3.1, §3.3), or
        /// straight into the paper's update. On for a real node; the filter keeps up to
        /// ``VivaldiConfiguration/filterCapacity`` contacts (about 8 KB), which the simulator
        /// leaves off by default so that a million nodes fit in memory.
        public var vivaldiFiltersContacts = true
        /// This node's Potluck identity (its ed25519 public key), sent in every message as the
        /// extension key `plk` (`spec/0005-krpc.md` reserves `pl…` keys; other implementations
        /// ignore them) so that peers can go from an endpoint to a key, e.g. to fetch its offer.
        public var identity: PublicKey?
        /// Whether the node takes the BEP 42 id of its public address as soon as other nodes agree
        /// on that address (`spec/0004-dht-routing.md` §6), so that nodes enforcing BEP 42 keep it.
        public var adoptsSecureID = true
        /// The client version sent in `v` (BEP 5): "PL" and a two-byte version.
        public var clientVersion: [UInt8] = Array("PL".utf8) + [0, 1]

        public init() {}

        /// Raises every query rate limit (per address, per block, in all) out of reach while
        /// still running the limiter: for benchmarks whose loader, and loopback swarms whose
        /// nodes, all share one address.
        public mutating func raiseRateLimits() {
            queriesPerSecondPerAddress = 1e9
            queryBurstPerAddress = 1e9
            queriesPerSecondPerBlock = 1e9
            queryBurstPerBlock = 1e9
            repliesPerSecond = 1e9
            replyBurst = 1e9
        }
    }

    /// What the driver asks a node to do. Each completes with one ``Action/completed(_:_:)``.
    public enum Command: Sendable, Equatable {
        /// Join the network through these endpoints (routers, saved contacts, `--bootstrap`).
        case bootstrap([Endpoint])
        /// BEP 5 `ping` of one endpoint.
        case ping(Endpoint)
        /// An iterative `find_node` for `target`.
        case findNode(NodeID)
        /// An iterative `get_peers` (BEP 5): the peers announced under `infoHash`.
        case getPeers(NodeID)
        /// `get_peers` then `announce_peer` to the closest nodes (BEP 5); `port` nil means
        /// `implied_port` (the UDP source port).
        case announce(NodeID, port: UInt16?)
        /// An iterative BEP 44 `get`; the best item found (the highest `seq` for mutable items).
        /// `salt` is the mutable item's salt (BEP 44 does not send it back; it is needed to check
        /// the signature), empty for none.
        case get(NodeID, salt: [UInt8])
        /// A BEP 44 `put` of an item to the closest nodes; republished hourly until the node stops.
        case put(Item)
    }

    /// What a node asks its driver to do.
    public enum Action: Sendable, Equatable {
        /// Send these bytes to this endpoint.
        case send([UInt8], to: Endpoint)
        /// Send this message, not encoded (only with ``Configuration/encodesMessages`` off).
        case sendMessage(KRPCMessage, to: Endpoint)
        /// Send these bytes from another port than the one the node answers on (a dial-back,
        /// `spec/0021` §4.1), and feed the reply to the node like any other datagram. A driver
        /// with one socket sends them like ``send(_:to:)``, and then proves less.
        case dialBack([UInt8], to: Endpoint)
        /// A command finished.
        case completed(RequestID, Outcome)
        /// Persist an item stored for another node (it survives a restart).
        case itemStored(StoredItem)
        /// Forget a persisted item (it expired or was replaced).
        case itemRemoved(NodeID)
        /// Other nodes agree that this node's public address is this one (BEP 42 `ip`); the
        /// driver may remember it.
        case externalAddress(Endpoint.Address)
        /// The node took this id (BEP 42, ``DHTNode/adopt(_:now:into:)``); the driver keeps it
        /// for the next start.
        case nodeIDChanged(NodeID)
    }

    /// How a command ended.
    public enum Outcome: Sendable, Equatable {
        /// The node answered; `key` is its Potluck identity when it sent one (`plk`).
        case pong(id: NodeID, roundTrip: Duration, key: PublicKey?)
        case bootstrapped(tableSize: Int, LookupResult)
        case nodes(LookupResult)
        case peers([Endpoint], LookupResult)
        case announced(storedOn: Int, LookupResult)
        /// The item found (nil when none), and on how many nodes.
        case item(Item?, foundOn: Int, LookupResult)
        case stored(target: NodeID, storedOn: Int, LookupResult)
        case failed(String)
    }

    /// Counters for `potluck dht status`.
    public struct Counters: Sendable, Hashable {
        public var datagramsReceived = 0
        public var datagramsSent = 0
        /// Queries received, by method (BEP 5, 44, 51; "other" for unknown methods).
        public var queriesReceived: [String: Int] {
            var counts: [String: Int] = [:]
            for (name, count) in zip(Self.methodNames, queriesByMethod) where count > 0 { counts[name] = count }
            return counts
        }
        static let methodNames = ["ping", "find_node", "get_peers", "announce_peer", "get", "put", "sample_infohashes", "other"]
        var queriesByMethod = [Int](repeating: 0, count: 8)
        public var queriesSent = 0
        public var responsesReceived = 0
        public var errorsReceived = 0
        public var errorsSent = 0
        public var timeouts = 0
        /// Query senders dialled back, and those that did not answer (kept out of the table).
        public var dialBacksSent = 0
        public var dialBacksFailed = 0
        /// Quiet routing-table members pinged to see whether they are still there.
        public var livenessChecks = 0
        /// Queries sent, by why: a lookup the caller asked for (`find_node`, `get_peers`, `get`),
        /// the stores after one (`announce_peer`, `put`), the join's bootstrap, bucket refreshes,
        /// routing-table pings (liveness checks and a full bucket's questionable member),
        /// dial-backs, and pings the caller asked for.
        public var queriesSentByCause: [String: Int] {
            var counts: [String: Int] = [:]
            for (name, count) in zip(Self.causeNames, queriesByCause) where count > 0 { counts[name] = count }
            return counts
        }
        /// Refresh lookups started: after a bootstrap, for every bucket with room (§5.4), and
        /// for buckets unchanged for the refresh interval (BEP 5).
        public var joinRefreshes = 0
        public var periodicRefreshes = 0
        static let causeNames = ["lookup", "store", "bootstrap", "refresh", "table-ping", "dial-back", "ping"]
        var queriesByCause = [Int](repeating: 0, count: 7)
        /// Datagrams dropped, by reason: malformed, too-big, rate-limited, unexpected-reply,
        /// wrong-source, read-only.
        public var dropped: [String: Int] = [:]

        mutating func drop(_ reason: String) { dropped[reason, default: 0] += 1 }

        mutating func countQuery(_ method: KRPCMessage.Method) {
            let index = switch method {
            case .ping: 0
            case .findNode: 1
            case .getPeers: 2
            case .announcePeer: 3
            case .get: 4
            case .put: 5
            case .sampleInfohashes: 6
            case .unknown: 7
            }
            queriesByMethod[index] += 1
        }
    }

    /// A summary for `potluck dht status`.
    public struct Status: Sendable, Equatable {
        public var id: NodeID
        public var routingTableSize: Int
        public var buckets: Int
        public var itemsStored: Int
        public var infoHashesStored: Int
        public var pendingQueries: Int
        public var operations: Int
        public var ownItems: Int
        /// Endpoints remembered for a while: dial-backs' outcomes and silent lookup contacts.
        public var rememberedEndpoints: Int
        public var counters: Counters
    }
}

extension DHTNode {
    /// What a node holds, counted: the simulator's census of where its memory goes
    /// (issue 19's bytes per node).
    public struct Footprint: Sendable, Equatable {
        public var routingEntries = 0
        public var replacementEntries = 0
        public var buckets = 0
        public var rateLimiterKeys = 0
        public var rememberedEndpoints = 0
        public var items = 0
        public var infoHashes = 0
        public var pendingQueries = 0
        public var operations = 0

        public init() {}

        /// The sum of two censuses.
        public static func + (lhs: Footprint, rhs: Footprint) -> Footprint {
            var sum = lhs
            sum.routingEntries += rhs.routingEntries
            sum.replacementEntries += rhs.replacementEntries
            sum.buckets += rhs.buckets
            sum.rateLimiterKeys += rhs.rateLimiterKeys
            sum.rememberedEndpoints += rhs.rememberedEndpoints
            sum.items += rhs.items
            sum.infoHashes += rhs.infoHashes
            sum.pendingQueries += rhs.pendingQueries
            sum.operations += rhs.operations
            return sum
        }
    }

    /// This node's census (``Footprint``).
    public var footprint: Footprint {
        var census = Footprint()
        census.routingEntries = table.count
        census.replacementEntries = table.buckets.reduce(0) { $0 + $1.replacements.count }
        census.buckets = table.buckets.count
        census.rateLimiterKeys = rateLimiter.rememberedKeys
        census.rememberedEndpoints = dialedBack.count + silent.count + dialBacks.count + announcerKeys.count
        census.items = items.count
        census.infoHashes = peers.infoHashCount
        census.pendingQueries = pending.count
        census.operations = operations.count
        return census
    }
}
