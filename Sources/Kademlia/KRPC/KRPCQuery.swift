// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

extension KRPCMessage {
    /// BEP 32 `want`: which address families of nodes the querier wants back.
    public enum Want: String, Sendable, Hashable, CaseIterable {
        /// `"n4"`: IPv4 nodes in `nodes`.
        case n4
        /// `"n6"`: IPv6 nodes in `nodes6`.
        case n6
    }

    /// A KRPC query (BEP 5 `y = "q"`): the sender's id, the method with its arguments, and any
    /// arguments this type does not understand.
    ///
    /// Deviations: the method is a separate ``Method`` value rather than one enum case per
    /// method carrying the id, so that `id`, `want` and unknown arguments are written once.
    public struct Query: Sendable, Equatable {
        /// BEP 5 `a.id`: the querying node's id.
        public var id: NodeID
        /// The method (`q`) and its arguments.
        public var method: Method
        /// BEP 32 `a.want`; empty means "not sent" (the responder answers in its own family).
        /// Unrecognised `want` entries are dropped when decoding.
        public var want: Set<Want>
        /// Arguments in `a` that the method does not define (for ``Method/unknown(name:)``,
        /// every argument except `id` and `want`). Kept for round trips; ignored when a key
        /// clashes with one the method writes.
        public var extraArguments: [[UInt8]: BencodeValue]

        /// A query with the given parts.
        public init(id: NodeID, method: Method, want: Set<Want> = [], extraArguments: [[UInt8]: BencodeValue] = [:]) {
            self.id = id
            self.method = method
            self.want = want
            self.extraArguments = extraArguments
        }

        /// The method name on the wire (`q`), e.g. `find_node`.
        public var methodName: [UInt8] { method.name }

        /// For an unknown method, the target a responder should treat it as a `find_node` for:
        /// `a.target`, else `a.info_hash`, when either is 20 bytes (libtorrent's rule, for
        /// forward compatibility). `nil` for known methods, or when neither is present; the
        /// responder then answers error 204 (``KRPCErrorMessage/methodUnknown``).
        public var impliedTarget: NodeID? {
            guard case .unknown = method else { return nil }
            for key in ["target", "info_hash"] {
                if let bytes = extraArguments[Array(key.utf8)]?.bytes, let id = NodeID(bytes: bytes) { return id }
            }
            return nil
        }
    }

    /// A query method and its arguments.
    public enum Method: Sendable, Equatable {
        /// BEP 5 `ping`.
        case ping
        /// BEP 5 `find_node`: `target`, 20 bytes.
        case findNode(target: NodeID)
        /// BEP 5 `get_peers`: `info_hash`, 20 bytes.
        case getPeers(infoHash: NodeID)
        /// BEP 5 `announce_peer`.
        case announcePeer(AnnouncePeer)
        /// BEP 44 `get`: `target` (20 bytes) and optionally `seq` (send the item only if newer).
        case get(target: NodeID, sequence: Int64?)
        /// BEP 44 `put`.
        case put(PutRequest)
        /// BEP 51 `sample_infohashes`: `target`, 20 bytes.
        case sampleInfohashes(target: NodeID)
        /// Any other method name; its arguments are in ``Query/extraArguments``.
        case unknown(name: [UInt8])

        /// The method name on the wire.
        public var name: [UInt8] {
            switch self {
            case .ping: Array("ping".utf8)
            case .findNode: Array("find_node".utf8)
            case .getPeers: Array("get_peers".utf8)
            case .announcePeer: Array("announce_peer".utf8)
            case .get: Array("get".utf8)
            case .put: Array("put".utf8)
            case .sampleInfohashes: Array("sample_infohashes".utf8)
            case .unknown(let name): name
            }
        }
    }

    /// BEP 5 `announce_peer` arguments.
    public struct AnnouncePeer: Sendable, Equatable {
        /// `info_hash`, 20 bytes.
        public var infoHash: NodeID
        /// `port`: the peer's TCP/uTP port (ignored by the responder when ``impliedPort``).
        public var port: UInt16
        /// `token`, as received from an earlier `get_peers` response.
        public var token: [UInt8]
        /// `implied_port`: use the UDP source port instead of ``port``. Sent as `i1e` only
        /// when true; any non-zero integer reads as true.
        public var impliedPort: Bool
        /// `seed` (libtorrent extension, BEP 33 context): whether the announcer is a seed.
        public var seed: Bool?

        /// Announce arguments.
        public init(infoHash: NodeID, port: UInt16, token: [UInt8], impliedPort: Bool = false, seed: Bool? = nil) {
            self.infoHash = infoHash
            self.port = port
            self.token = token
            self.impliedPort = impliedPort
            self.seed = seed
        }
    }

    /// BEP 44 `put` arguments: an immutable item (only `v`) or a mutable one (`k`, `sig`,
    /// `seq`, optional `salt` and `cas`).
    ///
    /// Size rules of BEP 44 (`v` ≤ 1000 bytes, `salt` ≤ 64 bytes) are not decoding errors:
    /// the node answers them with 205 and 207.
    public struct PutRequest: Sendable, Equatable {
        /// `token`, as received from an earlier `get` response.
        public var token: [UInt8]
        /// `v`: the bencoded value, **exactly as received** (signatures and targets cover
        /// these bytes). When encoding it must be one complete bencoded value; it is copied
        /// verbatim.
        public var value: [UInt8]
        /// The mutable-item fields, or `nil` for an immutable item.
        public var mutable: MutableItem?

        /// Put arguments.
        public init(token: [UInt8], value: [UInt8], mutable: MutableItem? = nil) {
            self.token = token
            self.value = value
            self.mutable = mutable
        }
    }

    /// The BEP 44 fields of a mutable item in a `put`.
    public struct MutableItem: Sendable, Equatable {
        /// `k`: the ed25519 public key, 32 bytes.
        public var publicKey: [UInt8]
        /// `sig`: the ed25519 signature, 64 bytes.
        public var signature: [UInt8]
        /// `seq`: the sequence number.
        public var sequence: Int64
        /// `salt`, if any (sent only when non-nil).
        public var salt: [UInt8]?
        /// `cas`: the sequence number the writer expects to replace, if any.
        public var cas: Int64?

        /// Mutable-item fields.
        public init(publicKey: [UInt8], signature: [UInt8], sequence: Int64, salt: [UInt8]? = nil, cas: Int64? = nil) {
            self.publicKey = publicKey
            self.signature = signature
            self.sequence = sequence
            self.salt = salt
            self.cas = cas
        }
    }
}
