/// A stored BEP 44 item of either kind.
public enum Item: Sendable, Hashable {
    case immutable(ImmutableItem)
    case mutable(MutableItem)

    /// Where the item lives: SHA-1(v) or SHA-1(k ‖ salt).
    public var target: NodeID {
        switch self {
        case .immutable(let item): item.target
        case .mutable(let item): item.target
        }
    }

    /// The bencoded value, byte for byte.
    public var value: [UInt8] {
        switch self {
        case .immutable(let item): item.value
        case .mutable(let item): item.value
        }
    }
}

/// An item as the ``ItemStore`` keeps it, for persistence by the driver (``ItemStore/allItems``
/// and ``ItemStore/restore(_:storedAt:from:)``).
public struct StoredItem: Sendable, Hashable {
    /// The item.
    public var item: Item
    /// When it was last put or refreshed; it expires one ``ItemStore/Configuration/itemLifetime`` later.
    public var storedAt: Timestamp
    /// The address it counts against for the per-address limit (the one that first stored it).
    public var owner: Endpoint.Address

    public init(item: Item, storedAt: Timestamp, owner: Endpoint.Address) {
        self.item = item
        self.storedAt = storedAt
        self.owner = owner
    }
}
