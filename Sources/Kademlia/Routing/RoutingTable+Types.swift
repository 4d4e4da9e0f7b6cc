import Coordinates
extension RoutingTable {
    /// The tunables of the table. Defaults follow BEP 5 and the Kademlia paper
    /// (Maymounkov & Mazières 2002).
    public struct Configuration: Sendable, Hashable {
        /// The paper's *k*: the most contacts a bucket holds, and the replication width of
        /// lookups (BEP 5: 8).
        public var bucketSize: Int
        /// How many further candidates each bucket remembers for when a member goes bad (the
        /// paper's "replacement cache", §4.1). 0 disables the cache.
        public var replacementCacheSize: Int
        /// After this long without hearing from a node it is *questionable* (BEP 5: 15 minutes).
        public var questionableAfter: Duration
        /// A node that failed this many queries in a row is *bad* (BEP 5 suggests trying once
        /// more after a failure, so 2).
        public var maxFailures: Int
        /// A bucket that has not changed for this long should be refreshed with a lookup of a
        /// random id in its range (BEP 5: 15 minutes; the paper's *tRefresh* is an hour).
        public var refreshInterval: Duration
        /// After asking the driver to ping a questionable node, the table waits this long for the
        /// answer (``RoutingTable/heardFrom(_:kind:now:)`` or ``RoutingTable/failed(_:now:)``)
        /// before it may ask again.
        public var pingTimeout: Duration
        /// Whether to refuse contacts whose id does not comply with BEP 42 for their address
        /// (local addresses are exempt). On by default (`spec/0004-dht-routing.md` §6).
        public var enforceNodeIDs: Bool
        /// At most this many members of one bucket may share an address (libtorrent's
        /// `restrict_routing_ips`: 1); 0 for no limit. Local addresses are exempt (§6.1).
        public var maxPerAddressPerBucket: Int
        /// At most this many members of the whole table may share an IPv4 /24 or IPv6 /64; 0 for
        /// no limit. Local addresses are exempt (§6.1).
        public var maxPerPrefix: Int
        /// How long a public address whose member went bad is barred to other ids (§6.1): sybils
        /// behind one address that answer a ping and nothing else would otherwise take the slot
        /// in turn, each costing lookups a timeout. Zero for no bar.
        public var addressPenalty: Duration

        /// A configuration; every parameter defaults to the BEP 5 value documented above.
        public init(
            bucketSize: Int = 8, replacementCacheSize: Int = 8, questionableAfter: Duration = .seconds(15 * 60),
            maxFailures: Int = 2, refreshInterval: Duration = .seconds(15 * 60), pingTimeout: Duration = .seconds(60),
            enforceNodeIDs: Bool = true, maxPerAddressPerBucket: Int = 1, maxPerPrefix: Int = 4,
            addressPenalty: Duration = .seconds(600)
        ) {
            precondition(bucketSize > 0 && replacementCacheSize >= 0 && maxFailures > 0, "invalid routing configuration")
            self.bucketSize = bucketSize
            self.replacementCacheSize = replacementCacheSize
            self.questionableAfter = questionableAfter
            self.maxFailures = maxFailures
            self.refreshInterval = refreshInterval
            self.pingTimeout = pingTimeout
            self.enforceNodeIDs = enforceNodeIDs
            self.maxPerAddressPerBucket = maxPerAddressPerBucket
            self.maxPerPrefix = maxPerPrefix
            self.addressPenalty = addressPenalty
        }
    }

    /// How we heard from a node.
    public enum Contact: Sendable, Hashable {
        /// It answered one of our queries: proof that it lives at that endpoint.
        case response
        /// It sent us a query (which anyone could have forged with its id).
        case query
    }

    /// The liveness of a node (BEP 5, "Routing Table").
    public enum NodeState: Sendable, Hashable {
        /// Answered us within ``Configuration/questionableAfter``, or has answered us at some
        /// time and sent us a query within it.
        case good
        /// Neither good nor bad: quiet for a while, or never answered us.
        case questionable
        /// Failed ``Configuration/maxFailures`` of our queries in a row.
        case bad
    }

    /// What ``RoutingTable/heardFrom(_:kind:now:)`` did.
    public enum InsertOutcome: Sendable, Hashable {
        /// The node is new in the table.
        case added
        /// The node was already in the table; its times were updated.
        case updated
        /// The driver should ping `pingThis` (a questionable member of a full bucket); a newcomer
        /// waits in the replacement cache and takes its place if the ping fails.
        case pending(pingThis: NodeContact)
        /// The bucket is full of nodes that are not bad; the node waits in the replacement cache.
        case replacementCached
        /// The node was not recorded.
        case rejected(RejectReason)
    }

    /// Why a contact was not recorded.
    public enum RejectReason: Sendable, Hashable {
        /// The contact carries our own id.
        case ownID
        /// The id is in the table at another endpoint; the recorded one is kept (anti-spoofing).
        case endpointMismatch
        /// Port 0 or an unspecified address: nothing could reach it.
        case unusableEndpoint
        /// The id does not comply with BEP 42 and ``Configuration/enforceNodeIDs`` is on.
        case nonCompliantID
        /// The bucket is full and the replacement cache is disabled.
        case bucketFull
        /// Another member of its bucket has the same (public) address.
        case addressInBucket
        /// Its /24 (/64) already holds ``Configuration/maxPerPrefix`` members of the table.
        case prefixFull
        /// A member at its (public) address went bad within ``Configuration/addressPenalty``.
        case addressBarred
    }

    /// What ``RoutingTable/failed(_:now:)`` did.
    public enum FailureOutcome: Sendable, Hashable {
        /// The id is neither in the table nor in a replacement cache.
        case unknown
        /// The failure was counted; the node stays (possibly now bad, awaiting a replacement).
        case recorded
        /// The node was dropped and `promoted` took its place.
        case replaced(promoted: NodeContact)
        /// The node was only a replacement candidate and has been forgotten.
        case droppedFromCache
    }

    /// A node the table knows, with what it needs to judge the node's state.
    ///
    /// Layout: 64 bytes, one cache line (a bucket is scanned for every reply and every message
    /// heard): the id, the two small fields and the coordinate's first component in the id's
    /// tail padding, the endpoint, the coordinate's other two in the endpoint's, and the two
    /// times as nanoseconds with `UInt64.max` for "never" (optionals would add 16 bytes).
    public struct Entry: Sendable, Hashable {
        /// Its id.
        public internal(set) var id: NodeID
        /// Queries it failed in a row since its last response.
        public internal(set) var failures: UInt8
        /// Whether the table asked the driver to ping it (to evict it for a newcomer).
        public internal(set) var isBeingPinged: Bool
        private var coordinateX: Int16 = 0
        /// The endpoint it was first recorded at.
        public internal(set) var endpoint: Endpoint
        private var coordinateY: Int16 = 0, coordinateHeight: UInt16 = 0
        var lastResponseNanoseconds: UInt64
        var lastQueryNanoseconds: UInt64

        init(contact: NodeContact, kind: Contact, now: Timestamp, coordinate: PackedCoordinate = .unknown) {
            self.id = contact.id
            self.failures = 0
            self.isBeingPinged = false
            self.endpoint = contact.endpoint
            self.lastResponseNanoseconds = kind == .response ? now.nanoseconds : .max
            self.lastQueryNanoseconds = kind == .query ? now.nanoseconds : .max
            self.coordinate = coordinate
        }

        /// The Vivaldi coordinate it last sent with a message (`plc`), if settled enough to keep
        /// (``PackedCoordinate/trustedError``); handed out beside its contact (`spec/0013` §4.2).
        public internal(set) var coordinate: PackedCoordinate {
            get { PackedCoordinate(x: coordinateX, y: coordinateY, height: coordinateHeight) }
            set { (coordinateX, coordinateY, coordinateHeight) = (newValue.x, newValue.y, newValue.height) }
        }

        /// Its id and the endpoint it was first recorded at.
        public var contact: NodeContact { NodeContact(id: id, endpoint: endpoint) }

        /// When it last answered us, if ever.
        public internal(set) var lastResponse: Timestamp? {
            get { Self.time(lastResponseNanoseconds) }
            set { lastResponseNanoseconds = newValue?.nanoseconds ?? .max }
        }

        /// When it last queried us, if ever.
        public internal(set) var lastQuery: Timestamp? {
            get { Self.time(lastQueryNanoseconds) }
            set { lastQueryNanoseconds = newValue?.nanoseconds ?? .max }
        }

        private static func time(_ nanoseconds: UInt64) -> Timestamp? {
            nanoseconds == .max ? nil : Timestamp(nanoseconds: nanoseconds)
        }

        /// The latest time we heard from it at all.
        public var lastSeen: Timestamp {
            Swift.max(lastResponse ?? .zero, lastQuery ?? .zero)
        }

        mutating func record(_ kind: Contact, now: Timestamp) {
            switch kind {
            case .response:
                lastResponse = now
                failures = 0
            case .query:
                lastQuery = now
            }
        }

        /// The state at `now` under `configuration` (BEP 5).
        public func state(now: Timestamp, configuration: Configuration) -> NodeState {
            if Int(failures) >= configuration.maxFailures { return .bad }
            guard let lastResponse else { return .questionable }
            let recent = { (time: Timestamp?) in time.map { now - $0 < configuration.questionableAfter } ?? false }
            return recent(lastResponse) || recent(lastQuery) ? .good : .questionable
        }
    }

    /// One k-bucket: the ids that start with `prefix`'s first `prefixLength` bits.
    ///
    /// Because only the bucket holding our own id splits (BEP 5), bucket `i` of
    /// ``RoutingTable/buckets`` holds the ids sharing exactly `i` leading bits with ours, except
    /// the last, which holds all ids sharing at least `buckets.count - 1`.
    public struct Bucket: Sendable, Hashable {
        /// The bucket's range: every id whose first `prefixLength` bits equal `prefix`'s (the
        /// remaining bits of `prefix` are zero).
        public internal(set) var prefix: NodeID
        /// How many leading bits of `prefix` define the range (0 for the whole space).
        public internal(set) var prefixLength: Int
        /// The members, at most ``Configuration/bucketSize``.
        public internal(set) var entries: [Entry]
        /// Candidates in order of arrival, the most recently seen last.
        public internal(set) var replacements: [Entry]
        /// When a member was last added, replaced or answered us (BEP 5's "last changed").
        public internal(set) var lastChanged: Timestamp
        /// When the table last asked the driver to ping a member, while that ping is unanswered.
        public internal(set) var pingRequestedAt: Timestamp?

        init(prefix: NodeID, prefixLength: Int, now: Timestamp) {
            self.prefix = prefix
            self.prefixLength = prefixLength
            self.entries = []
            self.replacements = []
            self.lastChanged = now
            self.pingRequestedAt = nil
        }

        /// Whether `id` lies in this bucket's range.
        public func covers(_ id: NodeID) -> Bool {
            (id ^ prefix).leadingZeroBitCount >= prefixLength
        }

        func index(of id: NodeID) -> Int? { entries.firstIndex { $0.id == id } }
        func replacementIndex(of id: NodeID) -> Int? { replacements.firstIndex { $0.id == id } }
    }
}
