extension ItemStore {
    /// Bounds and lifetimes of the item store (`spec/0006-dht-items.md` §4).
    public struct Configuration: Sendable, Hashable {
        /// The most items kept in total (both kinds). When full, a new item evicts the one whose
        /// expiry is soonest, that is the least recently put or refreshed.
        public var maxItems: Int
        /// The most items that one address may have stored here (counted by the address that
        /// first stored each item; IPv6 addresses are counted per /64). Further new items from it
        /// are refused with 202 until some expire; re-puts of its items are always accepted.
        public var maxItemsPerAddress: Int
        /// How long an item lives after its last put. BEP 44: items are dropped unless re-put;
        /// publishers re-put about once an hour, and libtorrent keeps items for 2 hours.
        public var itemLifetime: Duration

        public init(maxItems: Int = 10_000, maxItemsPerAddress: Int = 50, itemLifetime: Duration = .seconds(2 * 60 * 60)) {
            precondition(maxItems > 0 && maxItemsPerAddress > 0, "item store limits must be positive")
            precondition(itemLifetime > .zero, "the item lifetime must be positive")
            self.maxItems = maxItems
            self.maxItemsPerAddress = maxItemsPerAddress
            self.itemLifetime = itemLifetime
        }
    }

    /// What the store has done since it was created, for `potluck dht status`.
    public struct Counters: Sendable, Hashable {
        /// New items stored.
        public var stored = 0
        /// Puts of an item already held with the same value (expiry pushed back).
        public var refreshed = 0
        /// Mutable items replaced by a higher sequence number.
        public var updated = 0
        /// Items dropped to make room for new ones.
        public var evicted = 0
        /// Items dropped because they were not re-put within the lifetime.
        public var expired = 0
        /// Puts refused with 205: value empty or over 1000 bytes.
        public var rejectedValueTooBig = 0
        /// Puts refused with 207: salt over 64 bytes.
        public var rejectedSaltTooBig = 0
        /// Puts refused with 206: the signature did not verify.
        public var rejectedInvalidSignature = 0
        /// Puts refused with 301: `cas` did not match the stored sequence number.
        public var rejectedCASMismatch = 0
        /// Puts refused with 302: sequence number older (or equal with another value).
        public var rejectedOldSequence = 0
        /// Puts refused with 202: the sending address reached its limit.
        public var rejectedAddressLimit = 0
        /// Puts refused with 203: negative sequence number, or the other kind of item at the target.
        public var rejectedMalformed = 0

        public init() {}

        /// The total of all refusals.
        public var rejected: Int {
            rejectedValueTooBig + rejectedSaltTooBig + rejectedInvalidSignature + rejectedCASMismatch
                + rejectedOldSequence + rejectedAddressLimit + rejectedMalformed
        }

        mutating func count(_ error: ItemError) {
            switch error.code {
            case ItemError.Code.valueTooBig: rejectedValueTooBig += 1
            case ItemError.Code.saltTooBig: rejectedSaltTooBig += 1
            case ItemError.Code.invalidSignature: rejectedInvalidSignature += 1
            case ItemError.Code.casMismatch: rejectedCASMismatch += 1
            case ItemError.Code.sequenceTooOld: rejectedOldSequence += 1
            case ItemError.Code.serverError: rejectedAddressLimit += 1
            default: rejectedMalformed += 1
            }
        }
    }

    /// What an accepted put did.
    public enum PutOutcome: Sendable, Hashable {
        /// The target was empty (or expired); the item is new here.
        case stored
        /// The same item was already held; its expiry was pushed back.
        case refreshed
        /// A mutable item with a higher sequence number replaced the stored one.
        case updated
    }

    /// The answer to a BEP 44 `get` for a mutable item.
    public enum MutableGetResult: Sendable, Hashable {
        /// Send the whole item: `k`, `seq`, `sig` and `v`.
        case item(MutableItem)
        /// The requester already has this sequence number or a newer one: send only `seq`.
        case unchanged(sequence: Int64)
    }
}
