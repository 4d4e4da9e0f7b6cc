import CSodium

/// An ed25519 signing key (RFC 8032 §5.1.5), generated from a 32-byte seed.
///
/// The secret bytes live in one heap buffer that this object owns; they are wiped with
/// `sodium_memzero` when the object is released, and never leave it except through
/// ``withSeed(_:)`` (to save an identity file).
public final class SigningKey: @unchecked Sendable {
    // @unchecked: `secret` is written once in `init` and only read afterwards (libsodium's
    // signing reads it without mutation), so sharing the object across threads is safe.
    private let secret: UnsafeMutableRawBufferPointer  // libsodium's 64-byte form: seed || public key

    /// The matching public key: this peer's identity.
    public let publicKey: PublicKey

    /// The length of a seed in bytes (32).
    public static let seedLength = Int(crypto_sign_SEEDBYTES)

    /// Derives the key pair from a 32-byte seed (RFC 8032's "private key").
    public init(seed: some Collection<UInt8>) throws(CryptoError) {
        _ = Sodium.ready
        let seed = Array(seed)
        guard seed.count == Self.seedLength else {
            throw .length("an ed25519 seed", expected: Self.seedLength, got: seed.count)
        }
        let secret = UnsafeMutableRawBufferPointer.allocate(
            byteCount: Int(crypto_sign_SECRETKEYBYTES), alignment: 16)
        var publicBytes = Bytes32()
        let status = publicBytes.withUnsafeMutableBytes { pk in
            seed.withUnsafeBytes { seedBytes in
                crypto_sign_seed_keypair(
                    pk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    secret.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        precondition(status == 0, "crypto_sign_seed_keypair cannot fail")
        self.secret = secret
        publicKey = PublicKey(raw: publicBytes)
    }

    /// A new key from libsodium's secure random generator.
    public static func generate() -> SigningKey {
        var seed = SecureRandom.bytes(seedLength)
        defer { seed.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        return try! SigningKey(seed: seed)  // the length is right by construction
    }

    deinit {
        sodium_memzero(secret.baseAddress, secret.count)
        secret.deallocate()
    }

    /// Signs `message` (deterministic: the same key and message give the same signature).
    @inlinable
    public func sign(_ message: UnsafeRawBufferPointer) -> Signature {
        var raw = Bytes64()
        raw.withUnsafeMutableBytes { sig in
            signDetached(into: sig.baseAddress!, message.baseAddress, UInt64(message.count))
        }
        return Signature(raw: raw)
    }

    /// Signs `message`.
    public func sign(_ message: [UInt8]) -> Signature {
        message.withUnsafeBytes { sign($0) }
    }

    @usableFromInline
    func signDetached(into signature: UnsafeMutableRawPointer, _ message: UnsafeRawPointer?, _ length: UInt64) {
        crypto_sign_detached(
            signature.assumingMemoryBound(to: UInt8.self), nil,
            message?.assumingMemoryBound(to: UInt8.self), length,
            secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// Calls `body` with the 32-byte seed, the only secret needed to rebuild this key.
    public func withSeed<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: secret[0..<Self.seedLength]))
    }

    /// Calls `body` with libsodium's 64-byte secret key (seed followed by public key), for
    /// conversions that need it.
    func withSecretKey<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafePointer(secret.baseAddress!.assumingMemoryBound(to: UInt8.self)))
    }
}
