import PotluckCrypto
import Testing

struct RFC8032Vector: Decodable, Sendable, CustomTestStringConvertible {
    let name, secret, `public`, message, signature: String
    var testDescription: String { name }
}

private let rfc8032 = (try? loadVector("ed25519-rfc8032.json", as: File.self).vectors) ?? []
private struct File: Decodable { let vectors: [RFC8032Vector] }

@Suite("ed25519 (RFC 8032)")
struct Ed25519Tests {
    @Test func vectorsAreLoaded() { #expect(rfc8032.count == 4) }

    @Test("derives the public key and the signature", arguments: rfc8032)
    func signsLikeTheRFC(vector: RFC8032Vector) throws {
        let key = try SigningKey(seed: hexBytes(vector.secret))
        #expect(key.publicKey.hex == vector.public)
        let signature = key.sign(hexBytes(vector.message))
        #expect(signature.raw.hex == vector.signature)
        #expect(key.publicKey.isValidSignature(signature, for: hexBytes(vector.message)))
    }

    @Test("rejects a changed message, signature or key", arguments: rfc8032)
    func rejectsTampering(vector: RFC8032Vector) throws {
        let key = try PublicKey(bytes: hexBytes(vector.public))
        let message = hexBytes(vector.message)
        let signature = try Signature(bytes: hexBytes(vector.signature))
        try key.verify(signature, for: message)

        #expect(!key.isValidSignature(signature, for: message + [0]))
        var badSignature = signature.bytes
        badSignature[10] ^= 0x01
        #expect(!key.isValidSignature(try Signature(bytes: badSignature), for: message))
        let other = SigningKey.generate().publicKey
        #expect(!other.isValidSignature(signature, for: message))
        #expect(throws: CryptoError.self) { try other.verify(signature, for: message) }
    }

    @Test func wrongLengthsAreRefusedWithTheReason() {
        #expect(throws: CryptoError(.invalidLength, "an ed25519 seed must be 32 bytes, got 31")) {
            try SigningKey(seed: [UInt8](repeating: 1, count: 31))
        }
        #expect(throws: CryptoError(.invalidLength, "an ed25519 public key must be 32 bytes, got 33")) {
            try PublicKey(bytes: [UInt8](repeating: 1, count: 33))
        }
        #expect(throws: CryptoError(.invalidLength, "an ed25519 signature must be 64 bytes, got 0")) {
            try Signature(bytes: [])
        }
    }

    @Test func generatedKeysDifferAndRoundTripThroughTheirSeed() throws {
        let a = SigningKey.generate(), b = SigningKey.generate()
        #expect(a.publicKey != b.publicKey)
        let seed = a.withSeed { Array($0) }
        #expect(seed.count == 32)
        #expect(try SigningKey(seed: seed).publicKey == a.publicKey)
    }

    @Test func ed25519KeysConvertToMatchingX25519Keys() throws {
        let alice = SigningKey.generate(), bob = SigningKey.generate()
        let aliceX = alice.keyAgreementKey(), bobX = bob.keyAgreementKey()
        #expect(try alice.publicKey.keyAgreementKey() == aliceX.publicKey)
        #expect(try bob.publicKey.keyAgreementKey() == bobX.publicKey)
        let ab = try aliceX.sharedSecret(with: try bob.publicKey.keyAgreementKey())
        let ba = try bobX.sharedSecret(with: try alice.publicKey.keyAgreementKey())
        #expect(ab == ba)
        #expect(ab != Bytes32())
        #expect(throws: CryptoError.self) { try aliceX.sharedSecret(with: KeyAgreementPublicKey(raw: Bytes32())) }
    }
}
