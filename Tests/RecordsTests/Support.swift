import Bencode
import PotluckCrypto
import Foundation
import Records

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `spec/vectors/NAME`.
func vectorURL(_ name: String) -> URL { packageRoot.appendingPathComponent("spec/vectors/\(name)") }

func hexBytes(_ text: String) -> [UInt8] { Hex.decode(text) ?? [] }
func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

/// RFC 8032 section 7.1 seeds: TEST 1 provides, TEST 2 consumes, TEST 3 is a third party.
enum Seeds {
    static let provider = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let consumer = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
    static let other = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"
}

func key(_ seed: String) -> SigningKey { try! SigningKey(seed: hexBytes(seed)) }

/// Re-encodes a bencoded dictionary with one entry changed (or removed when `value` is nil).
func edited(_ bytes: [UInt8], _ key: String, _ value: BencodeValue?) -> [UInt8] {
    guard case .dictionary(var entries) = try! BencodeDecoder().decode(bytes) else { fatalError() }
    entries[Array(key.utf8)] = value
    return BencodeValue.dictionary(entries).encoded()
}
