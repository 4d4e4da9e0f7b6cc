import CSodium

/// An X25519 public key (RFC 7748) for key exchange, converted from an ed25519 identity.
///
/// Potluck peers have one identity, an ed25519 key; the job channel derives X25519 keys from it
/// with libsodium's `crypto_sign_ed25519_pk_to_curve25519` (the birational map from the Edwards
/// curve to its Montgomery form), so authenticating a peer and agreeing on a key use one key.
public struct KeyAgreementPublicKey: Sendable, Hashable {
    /// The 32 key bytes (a Montgomery u-coordinate).
    public var raw: Bytes32

    public init(raw: Bytes32) { self.raw = raw }
}

/// An X25519 secret key converted from an ed25519 signing key; wiped on release.
public final class KeyAgreementSecretKey: @unchecked Sendable {
    // @unchecked: `secret` is written once in `init` and only read afterwards.
    private let secret: UnsafeMutableRawBufferPointer

    /// The public half, equal to converting the ed25519 public key.
    public let publicKey: KeyAgreementPublicKey

    init(converting signingKey: SigningKey) {
        _ = Sodium.ready
        secret = .allocate(byteCount: Int(crypto_scalarmult_curve25519_BYTES), alignment: 16)
        let scalar = secret.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let status = signingKey.withSecretKey { crypto_sign_ed25519_sk_to_curve25519(scalar, $0) }
        precondition(status == 0, "crypto_sign_ed25519_sk_to_curve25519 cannot fail")
        var publicBytes = Bytes32()
        publicBytes.withUnsafeMutableBytes { pk in
            _ = crypto_scalarmult_curve25519_base(pk.baseAddress!.assumingMemoryBound(to: UInt8.self), scalar)
        }
        publicKey = KeyAgreementPublicKey(raw: publicBytes)
    }

    deinit {
        sodium_memzero(secret.baseAddress, secret.count)
        secret.deallocate()
    }

    /// The raw X25519 shared secret with `peer` (RFC 7748 §6.1). Callers must hash it with both
    /// public keys before use (as `crypto_kx` does); throws ``CryptoError/Code/weakKeyExchange``
    /// when `peer` is a low-order point and the result would be all zeros.
    public func sharedSecret(with peer: KeyAgreementPublicKey) throws(CryptoError) -> Bytes32 {
        var shared = Bytes32()
        let status = shared.withUnsafeMutableBytes { out in
            peer.raw.withUnsafeBytes { pk in
                crypto_scalarmult_curve25519(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    secret.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    pk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard status == 0 else {
            throw CryptoError(.weakKeyExchange, "the peer's X25519 key is a low-order point; refusing the key exchange")
        }
        return shared
    }
}

extension SigningKey {
    /// The X25519 secret key for this identity (ed25519 → X25519).
    public func keyAgreementKey() -> KeyAgreementSecretKey {
        KeyAgreementSecretKey(converting: self)
    }
}

extension PublicKey {
    /// The X25519 public key for this identity (ed25519 → X25519); throws
    /// ``CryptoError/Code/invalidKey`` when the bytes are not a valid Edwards point.
    public func keyAgreementKey() throws(CryptoError) -> KeyAgreementPublicKey {
        _ = Sodium.ready
        var out = Bytes32()
        let status = out.withUnsafeMutableBytes { x in
            raw.withUnsafeBytes { ed in
                crypto_sign_ed25519_pk_to_curve25519(
                    x.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    ed.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard status == 0 else {
            throw CryptoError(.invalidKey, "\(hex) is not a valid ed25519 public key; it cannot be converted to X25519")
        }
        return KeyAgreementPublicKey(raw: out)
    }
}
