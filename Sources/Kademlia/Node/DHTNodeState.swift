import PotluckCrypto
/// Identifies a running operation (lookup and its follow-up) inside a ``DHTNode``.
typealias OperationID = UInt64

/// A query sent and not yet answered.
struct PendingQuery: Sendable {
    enum Purpose: Sendable, Equatable {
        /// A `ping` command.
        case ping(RequestID?)
        /// A routing-table check of a questionable node (BEP 5).
        case maintenance
        /// A ping from another port to a node heard only through its query (`spec/0021` §4.1).
        case dialBack(Endpoint)
        /// A `find_node` to a bootstrap endpoint.
        case bootstrapSeed(OperationID)
        /// A step of an operation's lookup.
        case lookup(OperationID)
        /// A store (`put` or `announce_peer`) after an operation's lookup.
        case store(OperationID)
    }

    var endpoint: Endpoint
    var nodeID: NodeID?
    var sentAt: Timestamp
    var deadline: Timestamp
    var purpose: Purpose
}

/// The contacts of this node's last reply for a target asked twice in a row, kept while the
/// routing table's ``RoutingTable/generation`` stays the same: a popular target (many peers
/// looking up one key) is answered without sorting the table again, and the replies share one
/// array. A node answering scattered targets keeps only the last target, no array.
struct ReplyMemo: Sendable {
    var target = NodeID.zero
    var family = Endpoint.Address.Family.v4
    var generation = UInt64.max
    var nodes: [RoutingTable.Entry]?
}

/// An item this node published itself, put again before it expires.
struct OwnItem: Sendable {
    var item: Item
    var nextRepublish: Timestamp
}

/// A multi-step operation: an iterative lookup, then perhaps stores to the closest nodes.
struct Operation: Sendable {
    enum Kind: Sendable, Equatable {
        case bootstrap
        case refresh
        case findNode
        case getPeers
        case announce(port: UInt16?)
        case get
        case put(Item)
    }

    enum Phase: Sendable, Equatable {
        /// Waiting for `find_node` replies from bootstrap endpoints before the lookup starts.
        case seeding(remaining: Int)
        case lookingUp
        /// Stores sent; waiting for this many acknowledgements or failures.
        case storing(remaining: Int)
    }

    var kind: Kind
    var request: RequestID?
    var target: NodeID
    /// Its handle in ``DHTNode``'s operations (set when it is added).
    var id: OperationID = 0
    /// For a `get` of a mutable item: its salt, to check signatures.
    var salt: [UInt8] = []
    /// Contacts returned by bootstrap endpoints, the seeds of the bootstrap lookup.
    var seedContacts: [NodeContact] = []
    var lookup: Lookup
    var phase: Phase
    var wakeAt: Timestamp
    var startedAt: Timestamp
    /// Write tokens received from responders (BEP 5/44), by node id.
    var tokens: [NodeID: [UInt8]] = [:]
    /// Peers found by `get_peers`, and the keys they announced with (where reported).
    var peersFound: [Endpoint] = []
    var peerKeys: [Endpoint: PublicKey] = [:]
    /// The best item found by `get`, and on how many nodes it was found.
    var bestItem: Item?
    var foundOn = 0
    /// Successful stores.
    var storedOn = 0
    /// When a reply first carried peers or the item.
    var firstValueAt: Timestamp?
    /// A refresh of a bucket that had room when it started: it ends once that bucket is full
    /// (`spec/0004-dht-routing.md` §5.4).
    var fillsBucket = false

    /// The KRPC method the lookup sends to each node.
    var lookupMethod: KRPCMessage.Method {
        switch kind {
        case .bootstrap, .refresh, .findNode: .findNode(target: target)
        case .getPeers, .announce: .getPeers(infoHash: target)
        case .get, .put: .get(target: target, sequence: nil)
        }
    }
}

extension Array where Element == Operation {
    /// The position of operation `id`. A node runs a few operations at a time, so they are kept
    /// in an array searched by id: an array element is read in place, where a dictionary's
    /// subscript returns a copy of the whole operation (retaining each of its arrays).
    func index(of id: OperationID) -> Int? {
        firstIndex { $0.id == id }
    }
}
