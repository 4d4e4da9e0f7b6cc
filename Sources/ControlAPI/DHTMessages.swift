/// `GET /v1/dht`: the routing table, the store and the counters of the node's DHT.
public struct DHTStatus: Codable, Sendable, Equatable {
    public var nodeID: String
    public var routingTableSize: Int
    public var buckets: Int
    public var itemsStored: Int
    public var infoHashesStored: Int
    public var ownItems: Int
    public var pendingQueries: Int
    public var operations: Int
    public var datagramsReceived: Int
    public var datagramsSent: Int
    /// By KRPC method (`ping`, `find_node`, `get_peers`, …).
    public var queriesReceived: [String: Int]
    public var queriesSent: Int
    public var responsesReceived: Int
    public var errorsReceived: Int
    public var errorsSent: Int
    public var timeouts: Int
    public var dialBacksSent: Int
    public var dialBacksFailed: Int
    /// Datagrams dropped, by reason (`malformed`, `rate-limited`, …).
    public var dropped: [String: Int]
    /// The routing table's contacts, `HOST:PORT`.
    public var contacts: [String]

    public init(nodeID: String, routingTableSize: Int, buckets: Int, itemsStored: Int, infoHashesStored: Int, ownItems: Int,
                pendingQueries: Int, operations: Int, datagramsReceived: Int, datagramsSent: Int, queriesReceived: [String: Int],
                queriesSent: Int, responsesReceived: Int, errorsReceived: Int, errorsSent: Int, timeouts: Int,
                dialBacksSent: Int, dialBacksFailed: Int, dropped: [String: Int], contacts: [String]) {
        self.nodeID = nodeID
        self.routingTableSize = routingTableSize
        self.buckets = buckets
        self.itemsStored = itemsStored
        self.infoHashesStored = infoHashesStored
        self.ownItems = ownItems
        self.pendingQueries = pendingQueries
        self.operations = operations
        self.datagramsReceived = datagramsReceived
        self.datagramsSent = datagramsSent
        self.queriesReceived = queriesReceived
        self.queriesSent = queriesSent
        self.responsesReceived = responsesReceived
        self.errorsReceived = errorsReceived
        self.errorsSent = errorsSent
        self.timeouts = timeouts
        self.dialBacksSent = dialBacksSent
        self.dialBacksFailed = dialBacksFailed
        self.dropped = dropped
        self.contacts = contacts
    }
}

/// `POST /v1/dht/ping`.
public struct PingRequest: Codable, Sendable, Equatable {
    /// `HOST:PORT` or `[HOST]:PORT`.
    public var endpoint: String
    public init(endpoint: String) { self.endpoint = endpoint }
}

public struct PingResult: Codable, Sendable, Equatable {
    public var nodeID: String
    public var rttMs: Double
    /// When the node sent its key (`plk`).
    public var peerID: String?

    public init(nodeID: String, rttMs: Double, peerID: String?) {
        self.nodeID = nodeID
        self.rttMs = rttMs
        self.peerID = peerID
    }
}

/// `POST /v1/dht/lookup`: an iterative `find_node` (BEP 5).
public struct LookupRequest: Codable, Sendable, Equatable {
    /// 40 hex digits.
    public var target: String
    public init(target: String) { self.target = target }
}

public struct LookupAnswer: Codable, Sendable, Equatable {
    public struct Contact: Codable, Sendable, Equatable {
        public var id: String
        public var endpoint: String
        public init(id: String, endpoint: String) {
            self.id = id
            self.endpoint = endpoint
        }
    }

    public var closest: [Contact]
    public var queried: Int
    public var responded: Int
    public var failed: Int
    public var hops: Int
    public var durationMs: Double

    public init(closest: [Contact], queried: Int, responded: Int, failed: Int, hops: Int, durationMs: Double) {
        self.closest = closest
        self.queried = queried
        self.responded = responded
        self.failed = failed
        self.hops = hops
        self.durationMs = durationMs
    }
}

/// `POST /v1/dht/items`: stores a string as a BEP 44 item, mutable (signed with this node's key)
/// unless `immutable`.
public struct PutRequest: Codable, Sendable, Equatable {
    public var value: String
    public var salt: String?
    public var immutable: Bool

    public init(value: String, salt: String? = nil, immutable: Bool = false) {
        self.value = value
        self.salt = salt
        self.immutable = immutable
    }
}

public struct PutResult: Codable, Sendable, Equatable {
    public var target: String
    /// The mutable item's sequence number.
    public var seq: Int64?
    /// How many nodes acknowledged the `put`.
    public var storedOn: Int

    public init(target: String, seq: Int64?, storedOn: Int) {
        self.target = target
        self.seq = seq
        self.storedOn = storedOn
    }
}

/// `GET /v1/dht/items/{target}?salt=S`: a BEP 44 item found through the DHT.
public struct ItemResult: Codable, Sendable, Equatable {
    public var target: String
    public var foundOn: Int
    /// The value when it bencodes a string.
    public var value: String?
    public var valueBencodedHex: String
    public var seq: Int64?
    /// The mutable item's key (hex) and peer id, its signature (hex) and salt.
    public var key: String?
    public var peerID: String?
    public var signature: String?
    public var salt: String?

    public init(target: String, foundOn: Int, value: String?, valueBencodedHex: String) {
        self.target = target
        self.foundOn = foundOn
        self.value = value
        self.valueBencodedHex = valueBencodedHex
    }
}
