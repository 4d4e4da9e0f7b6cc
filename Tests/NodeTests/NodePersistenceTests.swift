import Bencode
import PotluckCrypto
import Foundation
import Kademlia
import Node
import Storage
import Testing

/// The node's LMDB records, on real files: what a restarted node reads back.
@Suite("Node persistence")
struct NodePersistenceTests {
    static func withPersistence(_ body: (NodePersistence, String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-persist-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try Environment(path: path)
        defer { environment.close() }
        try body(try NodePersistence(environment: environment), path)
    }

    @Test func nodeIDIsCreatedOnceAndKept() throws {
        try Self.withPersistence { persistence, _ in
            let first = try persistence.nodeID { NodeID(hex: String(repeating: "ab", count: 20))! }
            let second = try persistence.nodeID { NodeID.zero }
            #expect(first == second)
            #expect(first.hex == String(repeating: "ab", count: 20))
        }
    }

    @Test func aLearnedPublicAddressGivesABEP42NodeIDAtTheNextStart() throws {
        try Self.withPersistence { persistence, _ in
            let random = try persistence.nodeID(bep42: true)
            #expect(try persistence.nodeID(bep42: true) == random)  // nothing learned yet: kept
            let address = Endpoint.parseAddress("124.31.75.21")!
            try persistence.saveExternalAddress(address)
            let compliant = try persistence.nodeID(bep42: true)
            #expect(NodeIDSecurity.isValid(compliant, for: address))
            #expect(try persistence.nodeID(bep42: true) == compliant)  // stable once compliant
        }
    }

    @Test func contactsAreReplacedAsAWhole() throws {
        try Self.withPersistence { persistence, _ in
            let a = NodeContact(id: NodeID(hex: String(repeating: "01", count: 20))!, endpoint: Endpoint("127.0.0.1:7001")!)
            let b = NodeContact(id: NodeID(hex: String(repeating: "02", count: 20))!, endpoint: Endpoint("[::1]:7002")!)
            try persistence.saveContacts([a, b])
            #expect(try persistence.loadContacts() == [a, b])
            try persistence.saveContacts([b])
            #expect(try persistence.loadContacts() == [b])
        }
    }

    @Test func storedAndOwnItemsRoundTripThroughTheirRecords() throws {
        try Self.withPersistence { persistence, path in
            let key = SigningKey.generate()
            let mutable = MutableItem(signing: BencodeValue("an offer"), salt: Array("slot".utf8), sequence: 7, with: key)
            let immutable = ImmutableItem(encoding: BencodeValue("a receipt"))
            try persistence.saveStored(StoredItem(item: .mutable(mutable), storedAt: .zero, owner: .v4(0x7f00_0001)),
                                       unixMilliseconds: 1_700_000_000_000)
            try persistence.saveStored(StoredItem(item: .immutable(immutable), storedAt: .zero, owner: .v4(0x7f00_0002)),
                                       unixMilliseconds: 1_700_000_000_500)
            let loaded = try persistence.loadStored().sorted { $0.unixMilliseconds < $1.unixMilliseconds }
            #expect(loaded.map(\.item) == [.mutable(mutable), .immutable(immutable)])
            #expect(loaded.map(\.owner) == [.v4(0x7f00_0001), .v4(0x7f00_0002)])
            // The reloaded mutable item still carries a valid signature.
            if case .mutable(let reloaded) = loaded[0].item { try reloaded.validate(verifier: .ed25519) }

            try persistence.removeStored(mutable.target)
            #expect(try persistence.loadStored().map(\.item) == [.immutable(immutable)])

            try persistence.saveOwn(.mutable(mutable))
            #expect(try persistence.ownItem(mutable.target) == .mutable(mutable))
            #expect(try persistence.loadOwn() == [.mutable(mutable)])
        }
    }
}
