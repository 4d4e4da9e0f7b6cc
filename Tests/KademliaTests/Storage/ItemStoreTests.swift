import PotluckCrypto
import Kademlia
import Testing

@Suite("Item store")
struct ItemStoreTests {
    static let hour = Duration.seconds(3600)
    let t0 = Timestamp.seconds(1000)
    let alice = storageIPv4(1), bob = storageIPv4(2)
    let key = storageKey(7)

    func mutable(_ sequence: Int64, _ text: String = "v", salt: String = "") -> MutableItem {
        MutableItem(signing: storageBencoded(text), salt: Array(salt.utf8), sequence: sequence, with: key)
    }

    func immutable(_ text: String) -> ImmutableItem { ImmutableItem(value: storageBencoded(text)) }

    @Test func immutablePutThenGetAndRefresh() throws {
        var store = ItemStore()
        let item = immutable("hello")
        storageExpect(try store.put(immutable: item, from: alice, now: t0), .stored)
        #expect(store.get(item.target, now: t0) == .immutable(item))
        storageExpect(try store.put(immutable: item, from: bob, now: t0 + .seconds(5)), .refreshed)
        #expect(store.count == 1 && store.count(from: alice) == 1 && store.count(from: bob) == 0)
        #expect(store.counters.stored == 1 && store.counters.refreshed == 1)
        #expect(store.get(immutable("other").target, now: t0) == nil)
        #expect(store.getMutable(item.target, ifNewerThan: nil, now: t0) == nil)
    }

    @Test func mutableSequenceRules() throws {
        var store = ItemStore()
        let v3 = mutable(3, "three")
        storageExpect(try store.put(mutable: v3, from: alice, now: t0, verifier: .ed25519), .stored)
        // Lower sequence number: 302.
        let older = storageItemError { try store.put(mutable: mutable(2, "two"), from: alice, now: t0, verifier: .ed25519) }
        #expect(older?.code == 302)
        #expect(older?.message.contains("older than the stored 3") == true)
        // Equal sequence number, other value: 302 (BEP 44 MUST reject).
        let equal = storageItemError { try store.put(mutable: mutable(3, "changed"), from: alice, now: t0, verifier: .ed25519) }
        #expect(equal?.code == 302)
        #expect(equal?.message.contains("value differs") == true)
        // Equal sequence number, same value: a refresh.
        storageExpect(try store.put(mutable: v3, from: bob, now: t0, verifier: .ed25519), .refreshed)
        // Higher: replaces.
        let v4 = mutable(4, "four")
        storageExpect(try store.put(mutable: v4, from: bob, now: t0, verifier: .ed25519), .updated)
        #expect(store.get(v3.target, now: t0) == .mutable(v4))
        #expect(store.counters.rejectedOldSequence == 2 && store.counters.updated == 1 && store.counters.refreshed == 1)
        #expect(store.count(from: alice) == 1 && store.count(from: bob) == 0)
    }

    @Test func casMismatchIs301AndMatchingCASUpdates() throws {
        var store = ItemStore()
        storageExpect(try store.put(mutable: mutable(5), cas: 99, from: alice, now: t0, verifier: .ed25519), .stored)
        let error = try #require(storageItemError {
            try store.put(mutable: mutable(6, "six"), cas: 4, from: alice, now: t0, verifier: .ed25519)
        })
        #expect(error.code == 301)
        #expect(error.message.contains("stored sequence number is 5, not 4"))
        storageExpect(try store.put(mutable: mutable(6, "six"), cas: 5, from: alice, now: t0, verifier: .ed25519), .updated)
        // cas is checked before the sequence number, as libtorrent does.
        #expect(storageItemError { try store.put(mutable: mutable(1), cas: 1, from: alice, now: t0, verifier: .ed25519) }?.code == 301)
        #expect(store.counters.rejectedCASMismatch == 2)
    }

    @Test func invalidItemsAreCountedAndNotStored() throws {
        var store = ItemStore()
        let good = mutable(1)
        let forged = MutableItem(key: good.key, salt: good.salt, sequence: 2, value: good.value, signature: good.signature)
        #expect(storageItemError { try store.put(mutable: forged, from: alice, now: t0, verifier: .ed25519) }?.code == 206)
        storageExpect(try store.put(mutable: forged, from: alice, now: t0, verifier: .acceptAll), .stored)
        let longSalt = mutable(1, salt: String(repeating: "s", count: 65))
        #expect(storageItemError { try store.put(mutable: longSalt, from: alice, now: t0, verifier: .ed25519) }?.code == 207)
        let big = ImmutableItem(value: [UInt8]("997:".utf8) + [UInt8](repeating: 0, count: 997))
        #expect(storageItemError { try store.put(immutable: big, from: alice, now: t0) }?.code == 205)
        #expect(store.count == 1 && store.get(big.target, now: t0) == nil)
        let counters = store.counters
        #expect(counters.rejectedInvalidSignature == 1 && counters.rejectedSaltTooBig == 1 && counters.rejectedValueTooBig == 1)
        #expect(counters.rejected == 3)
    }

    @Test func expiryIsExactlyOneLifetimeAfterTheLastPut() throws {
        var store = ItemStore()
        let item = immutable("ttl")
        try store.put(immutable: item, from: alice, now: t0)
        let deadline = t0 + store.configuration.itemLifetime
        let justBefore = t0 + (store.configuration.itemLifetime - .nanoseconds(1))
        #expect(store.get(item.target, now: justBefore) != nil)
        let none = store.expire(now: justBefore)
        #expect(none.isEmpty && store.count == 1)
        #expect(store.get(item.target, now: deadline) == nil)
        let removed = store.expire(now: deadline)
        #expect(removed == [item.target])
        #expect(store.count == 0 && store.count(from: alice) == 0 && store.counters.expired == 1)
    }

    @Test func equalSequenceRefreshExtendsExpiry() throws {
        var store = ItemStore()
        let item = mutable(1)
        try store.put(mutable: item, from: alice, now: t0, verifier: .ed25519)
        storageExpect(try store.put(mutable: item, from: alice, now: t0 + Self.hour, verifier: .ed25519), .refreshed)
        let none = store.expire(now: t0 + Self.hour * 2)
        #expect(none.isEmpty)
        #expect(store.get(item.target, now: t0 + (Self.hour * 3 - .nanoseconds(1))) == .mutable(item))
        #expect(store.get(item.target, now: t0 + Self.hour * 3) == nil)
        let removed = store.expire(now: t0 + Self.hour * 3)
        #expect(removed == [item.target])
    }

    @Test func anExpiredItemCanBeReplacedByAnyVersion() throws {
        var store = ItemStore()
        try store.put(mutable: mutable(9), from: alice, now: t0, verifier: .ed25519)
        let later = t0 + Self.hour * 2
        storageExpect(try store.put(mutable: mutable(1, "one"), from: bob, now: later, verifier: .ed25519), .stored)
        #expect(store.count(from: alice) == 0 && store.count(from: bob) == 1 && store.counters.expired == 1)
        let none = store.expire(now: later + Self.hour)
        #expect(none.isEmpty)
    }

    @Test func perAddressLimitIs202AndCountsIPv6Per64() throws {
        var store = ItemStore(configuration: .init(maxItemsPerAddress: 3))
        for n in 0..<3 { try store.put(immutable: immutable("a\(n)"), from: alice, now: t0) }
        let error = try #require(storageItemError { try store.put(immutable: immutable("a3"), from: alice, now: t0) })
        #expect(error.code == 202)
        #expect(error.message.contains("3 items") && error.message.contains("10.0.0.1"))
        storageExpect(try store.put(immutable: immutable("a0"), from: alice, now: t0 + .seconds(1)), .refreshed)
        storageExpect(try store.put(immutable: immutable("a3"), from: bob, now: t0), .stored)
        #expect(store.counters.rejectedAddressLimit == 1 && store.count(from: alice) == 3)

        let prefix: UInt64 = 0x2001_0db8_0000_0001
        for n in 0..<3 { try store.put(immutable: immutable("b\(n)"), from: .v6(prefix, UInt64(n)), now: t0) }
        #expect(storageItemError { try store.put(immutable: immutable("b3"), from: .v6(prefix, 77), now: t0) }?.code == 202)
        #expect(store.count(from: .v6(prefix, 12345)) == 3)
        storageExpect(try store.put(immutable: immutable("b3"), from: .v6(prefix + 1, 0), now: t0), .stored)
        // Once alice's items expire, she can store again.
        _ = store.expire(now: t0 + Self.hour * 2)
        storageExpect(try store.put(immutable: immutable("a4"), from: alice, now: t0 + Self.hour * 2 + .seconds(1)), .stored)
    }

    @Test func fullStoreEvictsTheItemExpiringSoonest() throws {
        var store = ItemStore(configuration: .init(maxItems: 3))
        let items = (0..<4).map { immutable("item\($0)") }
        for n in 0..<3 { try store.put(immutable: items[n], from: storageIPv4(UInt32(10 + n)), now: t0 + .seconds(Double(n))) }
        try store.put(immutable: items[0], from: alice, now: t0 + .seconds(10))  // item0 now expires last
        storageExpect(try store.put(immutable: items[3], from: bob, now: t0 + .seconds(11)), .stored)
        #expect(store.count == 3 && store.counters.evicted == 1)
        #expect(store.get(items[1].target, now: t0 + .seconds(11)) == nil)
        for n in [0, 2, 3] { #expect(store.get(items[n].target, now: t0 + .seconds(11)) != nil) }
        #expect(store.count(from: storageIPv4(11)) == 0)
        // Expired items go first, without counting as evictions.
        let late = t0 + Self.hour * 2 + .seconds(5)
        try store.put(immutable: immutable("late"), from: alice, now: late)
        #expect(store.counters.evicted == 1 && store.counters.expired == 1)
        #expect(store.get(items[2].target, now: late) == nil && store.count == 3)
    }

    @Test func evictingAnAddressOwnItemKeepsItsCountRight() throws {
        var store = ItemStore(configuration: .init(maxItems: 2, maxItemsPerAddress: 3))
        try store.put(immutable: immutable("a"), from: alice, now: t0)
        try store.put(immutable: immutable("b"), from: alice, now: t0 + .seconds(1))
        storageExpect(try store.put(immutable: immutable("c"), from: alice, now: t0 + .seconds(2)), .stored)
        #expect(store.count == 2 && store.count(from: alice) == 2 && store.get(immutable("a").target, now: t0) == nil)
    }

    @Test(arguments: [(nil, true), (-1, true), (4, true), (5, false), (6, false)] as [(Int64?, Bool)])
    func getWithSequenceSendsTheValueOnlyWhenNewer(requested: Int64?, full: Bool) throws {
        var store = ItemStore()
        let item = mutable(5)
        try store.put(mutable: item, from: alice, now: t0, verifier: .ed25519)
        let result = store.getMutable(item.target, ifNewerThan: requested, now: t0)
        #expect(result == (full ? .item(item) : .unchanged(sequence: 5)))
        #expect(store.getMutable(item.target, ifNewerThan: requested, now: t0 + Self.hour * 2) == nil)
        #expect(store.getMutable(immutable("x").target, ifNewerThan: requested, now: t0) == nil)
    }

    @Test func allItemsRestoreIntoAnEquivalentStore() throws {
        var store = ItemStore()
        try store.put(immutable: immutable("i"), from: alice, now: t0)
        try store.put(mutable: mutable(3, salt: "a"), from: bob, now: t0 + .seconds(60), verifier: .ed25519)
        try store.put(mutable: mutable(8, salt: "b"), from: .v6(1, 2), now: t0 + .seconds(120), verifier: .ed25519)
        let saved = store.allItems
        #expect(saved.count == 3)
        #expect(saved.map(\.item.target) == saved.map(\.item.target).sorted())

        var copy = ItemStore()
        for entry in saved.reversed() {
            let restored = copy.restore(entry.item, storedAt: entry.storedAt, from: entry.owner)
            #expect(restored)
        }
        #expect(copy.allItems == saved)
        #expect(copy.count(from: bob) == 1 && copy.count(from: .v6(1, 99)) == 1)
        #expect(copy.counters.stored == 0)
        // Older versions are refused; the held one stays.
        let older = copy.restore(.mutable(mutable(2, salt: "b")), storedAt: t0, from: bob)
        let empty = copy.restore(.immutable(ImmutableItem(value: [])), storedAt: t0, from: bob)
        let newer = copy.restore(.mutable(mutable(9, salt: "b")), storedAt: t0, from: bob)
        #expect(!older && !empty && newer)
        #expect(copy.get(mutable(9, salt: "b").target, now: t0)?.value == mutable(9, salt: "b").value)
        // Restored times drive expiry: the first item goes first.
        let removed = copy.expire(now: t0 + Self.hour * 2 + .seconds(60))
        #expect(removed == [immutable("i").target, mutable(3, salt: "a").target])
    }
}
