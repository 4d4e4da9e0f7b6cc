import Crypto
import Foundation
import Records
import Trust

/// `spec/vectors/NAME`, found from this file's path.
func vectorData(_ name: String) throws -> Data {
    let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return try Data(contentsOf: root.appendingPathComponent("spec/vectors/\(name)"))
}

/// The signing key of the peer named `name`: seed BLAKE2b-256(UTF-8 name) (spec/0012-trust.md §8).
func namedKey(_ name: String) -> SigningKey { try! SigningKey(seed: Blake2b.hash256(Array(name.utf8)).bytes) }

/// SplitMix64 (Steele, Lea, Flood 2014): a small seeded generator, so property tests replay.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fake identities for property tests: 32 random bytes are a valid key for the graph, which never
/// checks curve points (signatures are the ledger's job).
func fakePeer(_ rng: inout SplitMix64) -> PublicKey {
    var bytes: [UInt8] = []
    for _ in 0..<4 { withUnsafeBytes(of: rng.next()) { bytes.append(contentsOf: $0) } }
    return PublicKey(raw: Bytes32(bytes)!)
}

/// A complete receipt between two named peers.
func receipt(_ provider: SigningKey, _ consumer: SigningKey, coreSeconds: Double, end: Int64, sequence: Int64) -> Receipt {
    let body = ReceiptBody(provider: provider.publicKey, consumer: consumer.publicKey,
                           jobDigest: Blake2b.hash256(Array("job \(sequence)".utf8)),
                           coreMilliseconds: Int64(coreSeconds * 1000), memoryByteSeconds: 0,
                           start: end - 1000, end: end, sequence: sequence)
    return Receipt(body: body).signed(by: provider).signed(by: consumer)
}
