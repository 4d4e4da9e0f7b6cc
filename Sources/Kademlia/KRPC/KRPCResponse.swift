// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import Coordinates

extension KRPCMessage {
    /// A KRPC response (BEP 5 `y = "r"`): the return values in `r`.
    ///
    /// A response does not name its query (the querier matches it by transaction id), so this
    /// is one type whose fields are present or absent; `nil` means the key is absent, and an
    /// empty array is written as an empty string or list.
    ///
    /// Deviations (liberal accept, spec §4): a trailing partial entry in `nodes`, `nodes6` or
    /// `samples` is ignored, as libtorrent does; `values` entries that are not 6- or 18-byte
    /// strings are skipped; `nodes` entries are read as IPv4 and `nodes6` as IPv6 only.
    public struct Response: Sendable, Equatable {
        /// BEP 5 `id`: the responding node's id.
        public var id: NodeID
        /// BEP 5 `nodes`: IPv4 contacts, 26 bytes each.
        public var nodes: [NodeContact]?
        /// BEP 32 `nodes6`: IPv6 contacts, 38 bytes each.
        public var nodes6: [NodeContact]?
        /// BEP 5 / BEP 44 `token`: the write token for a later `announce_peer` or `put`.
        public var token: [UInt8]?
        /// BEP 5 `values`: peers for a `get_peers`, compact 6-byte (IPv4) or 18-byte (IPv6).
        public var values: [Endpoint]?
        /// BEP 44 `v`: the item's bencoded value, exactly as received.
        public var value: [UInt8]?
        /// BEP 44 `k`: the mutable item's public key (32 bytes expected; not checked here).
        public var publicKey: [UInt8]?
        /// BEP 44 `sig`: the mutable item's signature (64 bytes expected; not checked here).
        public var signature: [UInt8]?
        /// BEP 44 `seq`: the mutable item's sequence number.
        public var sequence: Int64?
        /// BEP 51 `interval`: seconds the querier should wait before sampling this node again.
        public var interval: Int64?
        /// BEP 51 `num`: how many info-hashes the node stores.
        public var storedCount: Int64?
        /// BEP 51 `samples`: a sample of stored info-hashes.
        public var samples: [NodeID]?
        /// Potluck's `plnc`: the Vivaldi coordinate the responder holds for each contact of
        /// `nodes` then `nodes6`, in that order, 6 bytes each (``PackedCoordinate``, all zero when
        /// unknown; `spec/0013` §4.2). Absent when it holds none.
        public var nodeCoordinates: [PackedCoordinate]?
        /// Return values this type does not understand, kept for round trips.
        public var extraFields: [[UInt8]: BencodeValue]

        /// A response; everything but `id` defaults to absent.
        public init(
            id: NodeID, nodes: [NodeContact]? = nil, nodes6: [NodeContact]? = nil, token: [UInt8]? = nil,
            values: [Endpoint]? = nil, value: [UInt8]? = nil, publicKey: [UInt8]? = nil, signature: [UInt8]? = nil,
            sequence: Int64? = nil, interval: Int64? = nil, storedCount: Int64? = nil, samples: [NodeID]? = nil,
            nodeCoordinates: [PackedCoordinate]? = nil, extraFields: [[UInt8]: BencodeValue] = [:]
        ) {
            self.id = id
            self.nodes = nodes
            self.nodes6 = nodes6
            self.token = token
            self.values = values
            self.value = value
            self.publicKey = publicKey
            self.signature = signature
            self.sequence = sequence
            self.interval = interval
            self.storedCount = storedCount
            self.samples = samples
            self.nodeCoordinates = nodeCoordinates
            self.extraFields = extraFields
        }

        /// The keys this type reads and writes itself.
        static let knownKeys: Set<[UInt8]> = Set(knownKeyNames.map { $0.withUTF8Buffer { Array($0) } })

        /// ``knownKeys`` as names, for comparing with bytes in place.
        static let knownKeyNames: [StaticString] = [
            "id", "nodes", "nodes6", "token", "values", "v", "k", "sig", "seq", "interval", "num", "samples", "plnc",
        ]
    }
}
