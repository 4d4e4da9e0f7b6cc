import PotluckCrypto
import Foundation
import Kademlia
import SeededRandom
import Testing

/// The storage tests' seeded generator (Kademlia's SplitMix64), so random choices repeat.
typealias StorageTestRNG = SplitMix64

/// `spec/vectors/bep44.json`, found from this file's path (up to the package root).
struct BEP44Vectors: Decodable {
    struct Mutable: Decodable {
        var name: String
        var value: String
        var seq: Int64
        var salt: String
        var signed: String
        var `public`: String
        var signature: String
        var target: String

        /// The item the vector describes, built from its fields.
        func item() throws -> MutableItem {
            MutableItem(
                key: try PublicKey(bytes: try storageHex(`public`)), salt: Array(salt.utf8), sequence: seq,
                value: Array(value.utf8), signature: try Signature(bytes: try storageHex(signature)))
        }
    }

    struct Immutable: Decodable {
        var name: String
        var value: String
        var target: String
    }

    var mutable: [Mutable]
    var immutable: [Immutable]

    static func load() throws -> BEP44Vectors {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("spec/vectors/bep44.json"))
        return try JSONDecoder().decode(BEP44Vectors.self, from: data)
    }
}

struct StorageTestError: Error, CustomStringConvertible {
    var description: String
}

/// Hex digits to bytes, failing the test on bad input.
func storageHex(_ text: String) throws -> [UInt8] {
    guard let bytes = Hex.decode(text) else { throw StorageTestError(description: "bad hex \(text)") }
    return bytes
}

/// A deterministic signing key for tests.
func storageKey(_ index: UInt8) -> SigningKey {
    try! SigningKey(seed: [UInt8](repeating: index, count: 32))
}

/// The IPv4 address 10.0.0.n.
func storageIPv4(_ n: UInt32) -> Endpoint.Address { .v4(0x0A00_0000 | n) }

/// A bencoded byte string holding `text`.
func storageBencoded(_ text: String) -> [UInt8] { Array("\(text.utf8.count):\(text)".utf8) }

/// Runs `body` and returns the ``ItemError`` it threw, or `nil` if it threw none (any other
/// error is recorded as a test failure).
func storageItemError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> ItemError? {
    do {
        try body()
        return nil
    } catch let error as ItemError {
        return error
    } catch {
        Issue.record("expected an ItemError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects a put outcome (outside `#expect`, which cannot hold a mutating call).
func storageExpect(
    _ actual: ItemStore.PutOutcome, _ expected: ItemStore.PutOutcome, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual == expected, sourceLocation: sourceLocation)
}

/// Expects `true` from a mutating call (which `#expect` cannot hold).
func storageExpectTrue(_ value: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(value, sourceLocation: sourceLocation)
}
