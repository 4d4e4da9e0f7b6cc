import Bencode
import PotluckCrypto
import Kademlia
import Storage

/// What a node keeps in its LMDB environment (`DIR/db`, `spec/0003-storage.md`) so that a
/// restarted node rejoins from its saved table and still serves its items.
///
/// | database | key | value |
/// |---|---|---|
/// | `node.meta` | `dht-id` | the 20-byte DHT node id |
/// | `dht.contacts` | node id (20 bytes) | compact endpoint (6 or 18 bytes) |
/// | `dht.items` | target (20 bytes) | a stored item record (bencoded, below) |
/// | `dht.own` | target (20 bytes) | an item this node published (bencoded, below) |
///
/// Item records are bencoded dictionaries: `v` (the raw bencoded value), and for mutable items
/// `k`, `sig`, `seq`, `salt`; stored items add `at` (Unix time in ms when stored) and `o` (the
/// storing node's compact address with port 0). Every write is one durable LMDB transaction.
public final class NodePersistence: Sendable {
    let environment: Environment
    let meta: Database
    let contacts: Database
    let items: Database
    let own: Database

    public init(environment: Environment) throws {
        self.environment = environment
        meta = try environment.database("node.meta")
        contacts = try environment.database("dht.contacts")
        items = try environment.database("dht.items")
        own = try environment.database("dht.own")
    }

    // MARK: Node id

    /// The saved DHT node id, or `make()` saved as the new one.
    public func nodeID(orCreate make: () -> NodeID) throws -> NodeID {
        if let bytes = try environment.read({ txn in try txn.get(meta, Array("dht-id".utf8)) }), let id = NodeID(bytes: bytes) {
            return id
        }
        let id = make()
        try saveNodeID(id)
        return id
    }

    /// The node id to use: the saved one, unless a public address was learned (BEP 42 `ip`
    /// votes) and the saved id does not comply with BEP 42 for it, in which case a compliant id
    /// is made, saved and returned. A first start makes a random id (a BEP 42 id needs the
    /// public address, which only other nodes can tell).
    public func nodeID(bep42: Bool) throws -> NodeID {
        var random = SystemRandomNumberGenerator()
        let saved = try nodeID { NodeID.random(using: &random) }
        guard bep42, let address = try externalAddress(), !NodeIDSecurity.isValid(saved, for: address) else { return saved }
        let compliant = NodeIDSecurity.makeID(for: address, using: &random)
        try saveNodeID(compliant)
        return compliant
    }

    /// Keeps `id` as the node's id for its next start (made at the first start, or taken for
    /// BEP 42).
    public func saveNodeID(_ id: NodeID) throws {
        try environment.write { txn in try txn.put(meta, Array("dht-id".utf8), id.bytes) }
    }

    /// Remembers the public address other nodes agreed on.
    public func saveExternalAddress(_ address: Endpoint.Address) throws {
        try environment.write { txn in try txn.put(meta, Array("external-address".utf8), Endpoint(address: address, port: 0).compact) }
    }

    public func externalAddress() throws -> Endpoint.Address? {
        try environment.read { txn in try txn.get(meta, Array("external-address".utf8)) }.flatMap { Endpoint(compact: $0)?.address }
    }

    // MARK: Routing table

    /// Replaces the saved routing table with `list`.
    public func saveContacts(_ list: [NodeContact]) throws {
        try environment.write { txn in
            try txn.clear(contacts)
            for contact in list { try txn.put(contacts, contact.id.bytes, contact.endpoint.compact) }
        }
    }

    public func loadContacts() throws -> [NodeContact] {
        try environment.read { txn in
            try txn.entries(contacts).compactMap { entry in
                guard let id = NodeID(bytes: entry.key), let endpoint = Endpoint(compact: entry.value) else { return nil }
                return NodeContact(id: id, endpoint: endpoint)
            }
        }
    }

    // MARK: Items stored for others

    public func saveStored(_ stored: StoredItem, unixMilliseconds: Int64) throws {
        var record = Self.record(for: stored.item)
        record[Array("at".utf8)] = .integer(unixMilliseconds)
        record[Array("o".utf8)] = .bytes(Endpoint(address: stored.owner, port: 0).compact)
        let bytes = BencodeValue.dictionary(record).encoded()
        try environment.write { txn in try txn.put(items, stored.item.target.bytes, bytes) }
    }

    public func removeStored(_ target: NodeID) throws {
        try environment.write { txn in _ = try txn.delete(items, target.bytes) }
    }

    /// Saved items with their Unix store time in ms; unreadable records are skipped.
    public func loadStored() throws -> [(item: Item, owner: Endpoint.Address, unixMilliseconds: Int64)] {
        try environment.read { txn in
            try txn.entries(items).compactMap { entry in
                guard let record = try? BencodeDecoder().decode(entry.value).dictionary,
                      let item = Self.item(from: record),
                      let at = record[Array("at".utf8)]?.integer,
                      let owner = record[Array("o".utf8)]?.bytes.flatMap({ Endpoint(compact: $0) }) else { return nil }
                return (item, owner.address, at)
            }
        }
    }

    // MARK: Own items

    public func saveOwn(_ item: Item) throws {
        let bytes = BencodeValue.dictionary(Self.record(for: item)).encoded()
        try environment.write { txn in try txn.put(own, item.target.bytes, bytes) }
    }

    public func loadOwn() throws -> [Item] {
        try environment.read { txn in
            try txn.entries(own).compactMap { entry in
                (try? BencodeDecoder().decode(entry.value).dictionary).flatMap(Self.item(from:))
            }
        }
    }

    public func ownItem(_ target: NodeID) throws -> Item? {
        try environment.read { txn in
            try txn.get(own, target.bytes).flatMap { (try? BencodeDecoder().decode($0).dictionary).flatMap(Self.item(from:)) }
        }
    }

    // MARK: Records

    static func record(for item: Item) -> [[UInt8]: BencodeValue] {
        switch item {
        case .immutable(let immutable):
            return [Array("v".utf8): .bytes(immutable.value)]
        case .mutable(let mutable):
            return [Array("v".utf8): .bytes(mutable.value), Array("k".utf8): .bytes(mutable.key.bytes),
                    Array("sig".utf8): .bytes(mutable.signature.bytes), Array("seq".utf8): .integer(mutable.sequence),
                    Array("salt".utf8): .bytes(mutable.salt)]
        }
    }

    static func item(from record: [[UInt8]: BencodeValue]) -> Item? {
        guard let value = record[Array("v".utf8)]?.bytes else { return nil }
        guard let keyBytes = record[Array("k".utf8)]?.bytes else { return .immutable(ImmutableItem(value: value)) }
        guard let key = try? PublicKey(bytes: keyBytes),
              let signature = record[Array("sig".utf8)]?.bytes.flatMap({ try? Signature(bytes: $0) }),
              let sequence = record[Array("seq".utf8)]?.integer else { return nil }
        let salt = record[Array("salt".utf8)]?.bytes ?? []
        return .mutable(MutableItem(key: key, salt: salt, sequence: sequence, value: value, signature: signature))
    }
}
