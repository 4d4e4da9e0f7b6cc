import PotluckCrypto
import Foundation
import Records
import SeededRandom
import Trust

/// `spec/vectors/NAME`, found from this file's path.
func vectorData(_ name: String) throws -> Data {
    let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return try Data(contentsOf: root.appendingPathComponent("spec/vectors/\(name)"))
}

/// The signing key of the peer named `name`: seed BLAKE2b-256(UTF-8 name) (spec/0012-trust.md §8).
func namedKey(_ name: String) -> SigningKey { try! SigningKey(seed: Blake2b.hash256(Array(name.utf8)).bytes) }


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
