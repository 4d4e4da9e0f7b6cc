// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto

/// Issues and checks the write tokens of BEP 5 (`get_peers` → `announce_peer`) and BEP 44
/// (`get` → `put`).
///
/// BEP 5: "the BitTorrent implementation uses the SHA1 hash of the IP address concatenated
/// onto a secret that changes every five minutes and tokens up to ten minutes old are
/// accepted." Here a token is the first 8 bytes of SHA-1(address bytes ‖ secret), where the
/// address bytes are the 4 (IPv4) or 16 (IPv6) network-order bytes of the querier's address.
/// Tokens made with the current or the previous secret are valid.
///
/// The issuer holds no clock and no randomness (the core is deterministic): the node supplies
/// fresh random secrets and calls ``rotate(newSecret:)`` every 5 minutes, so a token stays
/// valid for 5 to 10 minutes.
///
/// Deviations: BEP 5 leaves the token's length and construction to the implementation (to
/// everyone else a token is opaque bytes). libtorrent hashes the address *text*, the secret
/// and the info-hash and keeps 4 bytes; Potluck keeps 8 bytes (harder to guess) over the
/// address bytes and does not bind the token to a target. The port is not covered (as in
/// BEP 5), so a token follows an address, not an endpoint.
public struct TokenIssuer: Sendable {
    /// The length of issued tokens: 8 bytes.
    public static let tokenLength = 8

    private var current: [UInt8]
    private var previous: [UInt8]?

    /// An issuer with one secret (no previous secret yet). Secrets should be at least 16
    /// random bytes.
    public init(secret: [UInt8]) {
        current = secret
        previous = nil
    }

    /// Makes `newSecret` current; the old current secret stays valid until the next rotation.
    public mutating func rotate(newSecret: [UInt8]) {
        previous = current
        current = newSecret
    }

    /// The token for `address` under the current secret.
    public func token(for address: Endpoint.Address) -> [UInt8] {
        Self.token(for: address, secret: current)
    }

    /// Whether `token` was issued for `address` under the current or the previous secret.
    public func isValid(_ token: [UInt8], for address: Endpoint.Address) -> Bool {
        guard token.count == Self.tokenLength else { return false }
        if Self.equal(token, Self.token(for: address, secret: current)) { return true }
        guard let previous else { return false }
        return Self.equal(token, Self.token(for: address, secret: previous))
    }

    private static func token(for address: Endpoint.Address, secret: [UInt8]) -> [UInt8] {
        // address ‖ secret, assembled on the stack.
        Endpoint(address: address, port: 0).withAddressBytes { addressBytes in
            withUnsafeTemporaryAllocation(byteCount: addressBytes.count + secret.count, alignment: 1) { input in
                input.copyMemory(from: addressBytes)
                secret.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: input[addressBytes.count...]).copyMemory(from: $0) }
                var digest = SHA1.hash(UnsafeRawBufferPointer(input))
                digest.removeLast(SHA1.length - tokenLength)
                return digest
            }
        }
    }

    /// Compares in time independent of where the first difference is.
    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
