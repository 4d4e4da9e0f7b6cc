import SeededRandom
import PotluckCrypto
import Kademlia
import Testing

/// A deliberately simple reference for ``ItemStore``: a dictionary and linear scans.
private struct ItemStoreReference {
    struct Entry { var item: Item; var storedAt: Timestamp; var owner: Endpoint.Address }

    let maxItems: Int, perAddress: Int, lifetime: Duration
    var entries: [NodeID: Entry] = [:]

    static func key(_ address: Endpoint.Address) -> Endpoint.Address {
        if case .v6(let high, _) = address { return .v6(high, 0) }
        return address
    }

    func live(_ target: NodeID, now: Timestamp) -> Entry? {
        guard let entry = entries[target], entry.storedAt + lifetime > now else { return nil }
        return entry
    }

    mutating func expire(now: Timestamp) -> [NodeID] {
        let gone = entries.values.filter { $0.storedAt + lifetime <= now }
            .sorted { ($0.storedAt, $0.item.target) < ($1.storedAt, $1.item.target) }.map(\.item.target)
        for target in gone { entries[target] = nil }
        return gone
    }

    /// The outcome, or the KRPC error code.
    mutating func put(_ item: Item, cas: Int64?, valid: Bool, from address: Endpoint.Address, now: Timestamp) -> Result<ItemStore.PutOutcome, ModelCode> {
        if !valid { return .failure(ModelCode(code: 206)) }
        if live(item.target, now: now) == nil { entries[item.target] = nil }
        if let held = entries[item.target] {
            var outcome = ItemStore.PutOutcome.refreshed
            if case .mutable(let old) = held.item, case .mutable(let new) = item {
                if let cas, cas != old.sequence { return .failure(ModelCode(code: 301)) }
                if new.sequence < old.sequence || (new.sequence == old.sequence && new.value != old.value) {
                    return .failure(ModelCode(code: 302))
                }
                if new.sequence > old.sequence { outcome = .updated; entries[item.target]?.item = item }
            }
            entries[item.target]?.storedAt = max(held.storedAt, now)
            return .success(outcome)
        }
        let key = Self.key(address)
        if entries.values.filter({ Self.key($0.owner) == key }).count >= perAddress { return .failure(ModelCode(code: 202)) }
        if entries.count >= maxItems { _ = expire(now: now) }
        if entries.count >= maxItems, let victim = entries.values.min(by: { ($0.storedAt, $0.item.target) < ($1.storedAt, $1.item.target) }) {
            entries[victim.item.target] = nil
        }
        entries[item.target] = Entry(item: item, storedAt: now, owner: address)
        return .success(.stored)
    }
}

private struct ModelCode: Error, Equatable { var code: Int }

@Suite("Item store against a reference model")
struct ItemStoreModelTests {
    /// Pre-signed items: 3 keys × 2 salts × sequence 0...4 × 2 values.
    static let mutables: [MutableItem] = (1...3).flatMap { k in
        ["", "a"].flatMap { salt in
            (0...4).flatMap { seq in
                ["x", "y"].map { MutableItem(signing: storageBencoded($0), salt: Array(salt.utf8), sequence: Int64(seq), with: storageKey(UInt8(k))) }
            }
        }
    }
    static let immutables = (0..<12).map { ImmutableItem(value: storageBencoded("item \($0)")) }
    static let addresses: [Endpoint.Address] = (1...5).map { storageIPv4($0) } + [.v6(0xfe80, 1), .v6(0xfe80, 2)]

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomOperationsAgreeWithTheModel(seed: UInt64) throws {
        var rng = StorageTestRNG(seed: seed)
        let lifetime = Duration.seconds(100)
        var store = ItemStore(configuration: .init(maxItems: 8, maxItemsPerAddress: 3, itemLifetime: lifetime))
        var model = ItemStoreReference(maxItems: 8, perAddress: 3, lifetime: lifetime)
        var now = Timestamp.seconds(1)
        var targets = Set<NodeID>()
        for step in 0..<3000 {
            now = now + .seconds(Double(Int.random(in: 0...8, using: &rng)))
            let address = Self.addresses.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<3:
                let item = Self.immutables.randomElement(using: &rng)!
                targets.insert(item.target)
                let got = Result<ItemStore.PutOutcome, ItemError> { () throws(ItemError) in try store.put(immutable: item, from: address, now: now) }
                let expected = model.put(.immutable(item), cas: nil, valid: true, from: address, now: now)
                #expect(got.mapError { ModelCode(code: $0.code) } == expected, "step \(step)")
            case 3..<8:
                var item = Self.mutables.randomElement(using: &rng)!
                let forged = Int.random(in: 0..<10, using: &rng) == 0
                if forged {
                    item = MutableItem(key: item.key, salt: item.salt, sequence: item.sequence + 1, value: item.value, signature: item.signature)
                }
                let cas: Int64? = Int.random(in: 0..<5, using: &rng) == 0 ? Int64.random(in: 0...4, using: &rng) : nil
                targets.insert(item.target)
                let got = Result<ItemStore.PutOutcome, ItemError> { () throws(ItemError) in
                    try store.put(mutable: item, cas: cas, from: address, now: now, verifier: .ed25519)
                }
                let expected = model.put(.mutable(item), cas: cas, valid: !forged, from: address, now: now)
                #expect(got.mapError { ModelCode(code: $0.code) } == expected, "step \(step)")
            case 8:
                let removed = store.expire(now: now)
                #expect(removed == model.expire(now: now), "step \(step)")
            default:
                for target in targets { #expect(store.get(target, now: now) == model.live(target, now: now)?.item, "step \(step)") }
            }
            #expect(store.count == model.entries.count, "step \(step)")
            for address in Self.addresses {
                let key = ItemStoreReference.key(address)
                #expect(store.count(from: address) == model.entries.values.filter { ItemStoreReference.key($0.owner) == key }.count)
            }
        }
        #expect(store.counters.evicted > 0 && store.counters.rejectedAddressLimit > 0 && store.counters.rejectedOldSequence > 0)
        #expect(store.counters.rejectedCASMismatch > 0 && store.counters.rejectedInvalidSignature > 0 && store.counters.expired > 0)
    }
}
