import Bencode
import PotluckCrypto
import Kademlia
import Testing

@Suite("BEP 44 items")
struct ItemTests {
    let vectors: BEP44Vectors

    init() throws { vectors = try BEP44Vectors.load() }

    @Test func vectorFileHasTheBEP44Cases() {
        #expect(vectors.mutable.count == 2)
        #expect(vectors.immutable.count == 1)
    }

    @Test func signedBufferMatchesVectorsByteForByte() {
        for vector in vectors.mutable {
            let buffer = MutableItem.signedBuffer(salt: Array(vector.salt.utf8), sequence: vector.seq, value: Array(vector.value.utf8))
            #expect(buffer == Array(vector.signed.utf8), "\(vector.name)")
        }
        #expect(MutableItem.signedBuffer(salt: Array("foobar".utf8), sequence: 1, value: storageBencoded("Hello World!"))
            == Array("4:salt6:foobar3:seqi1e1:v12:Hello World!".utf8))
    }

    @Test func targetsMatchVectors() throws {
        for vector in vectors.mutable {
            let key = try PublicKey(bytes: try storageHex(vector.public))
            #expect(MutableItem.target(key: key, salt: Array(vector.salt.utf8)).hex == vector.target, "\(vector.name)")
            #expect(try vector.item().target.hex == vector.target, "\(vector.name)")
        }
        for vector in vectors.immutable {
            let item = ImmutableItem(value: Array(vector.value.utf8))
            #expect(item.target.hex == vector.target, "\(vector.name)")
            #expect(ImmutableItem(encoding: .bytes(Array("Hello World!".utf8))).target == item.target)
            #expect(throws: Never.self) { try item.validate() }
        }
    }

    @Test func publishedSignaturesVerify() throws {
        for vector in vectors.mutable {
            let item = try vector.item()
            #expect(storageItemError { try item.validate(verifier: .ed25519) } == nil, "\(vector.name)")
        }
    }

    enum Tamper: CaseIterable { case value, sequence, salt, key, signature }

    @Test(arguments: Tamper.allCases)
    func tamperedItemsAreRejectedWith206(_ tamper: Tamper) throws {
        for vector in vectors.mutable {
            let item = try vector.item()
            var signature = item.signature.bytes
            signature[10] ^= 1
            let forged = switch tamper {
            case .value: MutableItem(key: item.key, salt: item.salt, sequence: item.sequence, value: storageBencoded("Hello World?"), signature: item.signature)
            case .sequence: MutableItem(key: item.key, salt: item.salt, sequence: item.sequence + 1, value: item.value, signature: item.signature)
            case .salt: MutableItem(key: item.key, salt: item.salt + [0x21], sequence: item.sequence, value: item.value, signature: item.signature)
            case .key: MutableItem(key: storageKey(1).publicKey, salt: item.salt, sequence: item.sequence, value: item.value, signature: item.signature)
            case .signature: MutableItem(key: item.key, salt: item.salt, sequence: item.sequence, value: item.value, signature: try Signature(bytes: signature))
            }
            let error = try #require(storageItemError { try forged.validate(verifier: .ed25519) }, "\(vector.name)")
            #expect(error.code == 206)
            #expect(error.message.contains("invalid signature"))
        }
    }

    @Test(arguments: [[UInt8](), Array("pot".utf8)])
    func signThenValidateRoundTrips(salt: [UInt8]) throws {
        let key = SigningKey.generate()
        let value: BencodeValue = .dictionary([Array("k".utf8): .integer(7)])
        let item = MutableItem(signing: value, salt: salt, sequence: 42, with: key)
        #expect(item.value == value.encoded())
        #expect(item.key == key.publicKey)
        #expect(item.target == MutableItem.target(key: key.publicKey, salt: salt))
        #expect(storageItemError { try item.validate(verifier: .ed25519) } == nil)
        #expect(key.publicKey.isValidSignature(item.signature, for: MutableItem.signedBuffer(salt: salt, sequence: 42, value: value.encoded())))
    }

    @Test func oversizedValueIs205AndTheBoundIsInclusive() throws {
        let key = storageKey(2)
        let atBound = [UInt8]("996:".utf8) + [UInt8](repeating: 0x61, count: 996)
        let overBound = [UInt8]("997:".utf8) + [UInt8](repeating: 0x61, count: 997)
        #expect(atBound.count == 1000 && overBound.count == 1001)
        #expect(storageItemError { try MutableItem(signing: atBound, sequence: 0, with: key).validate(verifier: .ed25519) } == nil)
        #expect(storageItemError { try ImmutableItem(value: atBound).validate() } == nil)
        for error in [
            storageItemError { try MutableItem(signing: overBound, sequence: 0, with: key).validate(verifier: .ed25519) },
            storageItemError { try ImmutableItem(value: overBound).validate() },
            storageItemError { try ImmutableItem(value: []).validate() },
        ] {
            let error = try #require(error)
            #expect(error.code == 205)
            #expect(error.message.contains("too big") && error.message.contains("1000"))
        }
    }

    @Test func oversizedSaltIs207() throws {
        let key = storageKey(3)
        let ok = MutableItem(signing: storageBencoded("x"), salt: [UInt8](repeating: 1, count: 64), sequence: 1, with: key)
        #expect(storageItemError { try ok.validate(verifier: .ed25519) } == nil)
        let long = MutableItem(signing: storageBencoded("x"), salt: [UInt8](repeating: 1, count: 65), sequence: 1, with: key)
        let error = try #require(storageItemError { try long.validate(verifier: .ed25519) })
        #expect(error.code == 207)
        #expect(error.message.contains("65 bytes") && error.message.contains("64"))
    }

    @Test func negativeSequenceIs203() throws {
        let item = MutableItem(signing: storageBencoded("x"), sequence: -1, with: storageKey(4))
        let error = try #require(storageItemError { try item.validate(verifier: .acceptAll) })
        #expect(error.code == 203)
        #expect(error.message.contains("negative"))
    }

    @Test func verifierIsInjectable() throws {
        let vector = try #require(vectors.mutable.first)
        let good = try vector.item()
        let forged = MutableItem(key: good.key, salt: good.salt, sequence: 9, value: good.value, signature: good.signature)
        #expect(storageItemError { try forged.validate(verifier: .acceptAll) } == nil)
        #expect(storageItemError { try good.validate(verifier: SignatureVerifier { _, _, _ in false }) }?.code == 206)
        let expected = Array(vector.signed.utf8)
        let checking = SignatureVerifier { key, signature, message in
            key == good.key && signature == good.signature && message == expected
        }
        #expect(storageItemError { try good.validate(verifier: checking) } == nil)
    }
}
