import PotluckCrypto
import Foundation
import Testing

struct BEP44Mutable: Decodable, Sendable, CustomTestStringConvertible {
    let name, value: String, seq: Int, salt, signed, `public`, signature, target: String
    var testDescription: String { name }
}
struct BEP44Immutable: Decodable, Sendable {
    let name, value, target: String
}
private struct File: Decodable { let mutable: [BEP44Mutable]; let immutable: [BEP44Immutable] }
private let bep44 = try? loadVector("bep44.json", as: File.self)

/// The crypto half of BEP 44's vectors: the published signatures verify under libsodium, and
/// targets are SHA-1(k ‖ salt) for mutable items and SHA-1(bencoded v) for immutable ones.
@Suite("BEP 44 vectors")
struct BEP44Tests {
    @Test func vectorsAreLoaded() throws {
        let file = try #require(bep44)
        #expect(file.mutable.count == 2 && file.immutable.count == 1)
    }

    @Test("mutable item signature and target", arguments: bep44?.mutable ?? [])
    func mutableItem(vector: BEP44Mutable) throws {
        let key = try PublicKey(bytes: hexBytes(vector.public))
        let signature = try Signature(bytes: hexBytes(vector.signature))
        let signed = Array(vector.signed.utf8)
        #expect(key.isValidSignature(signature, for: signed))
        // The same value under another seq must not verify.
        let replayed = Array(vector.signed.replacingOccurrences(of: "seqi1e", with: "seqi2e").utf8)
        #expect(!key.isValidSignature(signature, for: replayed))
        #expect(Hex.encode(SHA1.hash(key.bytes + Array(vector.salt.utf8))) == vector.target)
    }

    @Test("immutable item target", arguments: bep44?.immutable ?? [])
    func immutableItem(vector: BEP44Immutable) {
        #expect(Hex.encode(SHA1.hash(Array(vector.value.utf8))) == vector.target)
    }
}
