import PotluckCrypto
import Testing

struct Bech32mInvalid: Decodable, Sendable, CustomTestStringConvertible {
    let text, reason: String
    var testDescription: String { "\(text) (\(reason))" }
}
private struct File: Decodable { let valid: [String]; let invalid: [Bech32mInvalid] }
private let bip350 = try? loadVector("bech32m.json", as: File.self)

@Suite("Peer ids (bech32m)")
struct PeerIDTests {
    @Test("BIP 350 valid strings decode", arguments: bip350?.valid ?? [])
    func validDecodes(text: String) throws {
        let decoded = try Bech32m.decode(text)
        #expect(Bech32m.encode(hrp: decoded.hrp, data: decoded.data) == text.lowercased())
    }

    @Test("BIP 350 invalid strings are refused", arguments: bip350?.invalid ?? [])
    func invalidRefused(vector: Bech32mInvalid) {
        #expect(throws: CryptoError.self) { try Bech32m.decode(vector.text) }
    }

    @Test func vectorsAreLoaded() throws {
        let file = try #require(bip350)
        #expect(file.valid.count == 6 && file.invalid.count == 12)
    }

    @Test func rfc8032KeyHasItsDocumentedPeerID() throws {
        // spec/0002-identity.md quotes this pair.
        let key = try PublicKey(bytes: hexBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(key.peerID == "pl16adfsqvzky9t042tlmfujeq88g8wzuhnm2nzxfd0qgdx3ac82ydqz3z48a")
        #expect(key.peerID.count == 61)
        #expect(try PublicKey(peerID: key.peerID) == key)
        #expect(try PublicKey(peerID: key.peerID.uppercased()) == key)
        #expect(try PublicKey(peerID: key.hex) == key)
    }

    @Test func everySingleCharacterTypoIsCaught() throws {
        let id = Array(SigningKey.generate().publicKey.peerID)
        let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l")
        for position in 3..<id.count {
            for replacement in alphabet where replacement != id[position] {
                var typo = id
                typo[position] = replacement
                #expect(throws: CryptoError.self) { try PublicKey(peerID: String(typo)) }
            }
        }
    }

    @Test func wrongPrefixAndLengthAreExplained() {
        let data = [UInt8](repeating: 7, count: 32)
        #expect(throws: CryptoError.self) { try PublicKey(peerID: Bech32m.encode(hrp: "xx", data: data)) }
        do {
            _ = try PublicKey(peerID: Bech32m.encode(hrp: "pl", data: [1, 2, 3]))
            Issue.record("a 3-byte peer id was accepted")
        } catch {
            #expect(error.message.contains("holds 3 bytes, not 32"))
        }
    }
}
