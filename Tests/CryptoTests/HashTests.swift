import PotluckCrypto
import Testing

struct SHA1Vector: Decodable, Sendable, CustomTestStringConvertible {
    let ascii: String, `repeat`: Int, digest: String
    var testDescription: String { "\(ascii.prefix(12))… × \(`repeat`)" }
}
struct Blake2bVector: Decodable, Sendable, CustomTestStringConvertible {
    let name, ascii: String, length: Int, key, digest: String
    var testDescription: String { name }
}
private struct SHA1File: Decodable { let vectors: [SHA1Vector] }
private struct Blake2bFile: Decodable { let vectors: [Blake2bVector] }
private let sha1Vectors = (try? loadVector("sha1.json", as: SHA1File.self).vectors) ?? []
private let blake2bVectors = (try? loadVector("blake2b.json", as: Blake2bFile.self).vectors) ?? []

@Suite("Hashes")
struct HashTests {
    @Test func vectorsAreLoaded() {
        #expect(sha1Vectors.count == 5)
        #expect(blake2bVectors.count == 5)
    }

    @Test("SHA-1 (FIPS 180)", arguments: sha1Vectors)
    func sha1(vector: SHA1Vector) {
        let input = Array(String(repeating: vector.ascii, count: vector.repeat).utf8)
        #expect(Hex.encode(SHA1.hash(input)) == vector.digest)
    }

    @Test("SHA-1 across block boundaries equals the one-block-at-a-time padding rule")
    func sha1PaddingBoundaries() {
        // 55, 56 and 64 bytes are where the length field moves to a second block.
        var seen = Set<[UInt8]>()
        for length in [55, 56, 57, 63, 64, 65] {
            let digest = SHA1.hash([UInt8](repeating: 0x61, count: length))
            #expect(digest.count == 20)
            seen.insert(digest)
        }
        #expect(seen.count == 6)
    }

    @Test("BLAKE2b (RFC 7693)", arguments: blake2bVectors)
    func blake2b(vector: Blake2bVector) {
        let input = Array(vector.ascii.utf8)
        #expect(Hex.encode(Blake2b.hash(input, length: vector.length, key: hexBytes(vector.key))) == vector.digest)
        if vector.length == 32 && vector.key.isEmpty {
            #expect(Blake2b.hash256(input).hex == vector.digest)
            var hasher = Blake2bHasher()
            for byte in input { hasher.update([byte]) }
            #expect(hasher.finalize().hex == vector.digest)
        }
    }

    @Test func hexRoundTripsAndRejectsGarbage() {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff]
        #expect(Hex.encode(bytes) == "00017f80ff")
        #expect(Hex.decode("00017F80ff") == bytes)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
